import { z } from 'zod';
import { filePath, flag, int, optional, withDefault } from '@switchboard/core';

const MB = 1024 * 1024;

/** Environment fragment of the media pipeline (speech-to-text included). */
export const mediaEnv = {
  /** Turns the inbound media pipeline off (the agent is then told media was received but not read). */
  MEDIA_ENABLED: flag(true),
  /** Speech-to-text model of the OpenAI-compatible `/audio/transcriptions` endpoint. */
  TRANSCRIBE_MODEL: withDefault('whisper-1'),
  /** Hard cap of any single download, whatever its kind. */
  MEDIA_MAX_BYTES: int(64 * MB, 1),
  /** Images handed to the vision model (as a data: URL, so also a prompt-size cap). */
  MEDIA_IMAGE_MAX_BYTES: int(5 * MB, 1),
  /** Voice notes and audio files; 25 MB is OpenAI's transcription upload limit. */
  MEDIA_AUDIO_MAX_BYTES: int(25 * MB, 1),
  /** Documents (PDF, text) to extract text from. */
  MEDIA_DOCUMENT_MAX_BYTES: int(20 * MB, 1),
  /** Videos (probed for duration, sound track optionally transcribed). */
  MEDIA_VIDEO_MAX_BYTES: int(64 * MB, 1),
  /** Extracted document text given to the agent is cut to this many characters. */
  MEDIA_TEXT_MAX_CHARS: int(20_000, 100),
  /** Audio longer than this is not transcribed (cost guard). */
  MEDIA_MAX_AUDIO_SEC: int(15 * 60, 1),
  /** Transcribe the sound track of videos (needs ffmpeg). */
  MEDIA_TRANSCRIBE_VIDEO: flag(true),
  /** Temporary directory for downloads (default: the OS temp dir + `/switchboard-media`). */
  MEDIA_TMP_DIR: filePath(),
  /** All downloads in flight in this process together stay under this many bytes on disk. */
  MEDIA_TMP_MAX_BYTES: int(512 * MB, 1),
  /** Per download (headers and body). */
  MEDIA_DOWNLOAD_TIMEOUT_MS: int(30_000, 100),
  /** Per ffmpeg/ffprobe run and per PDF extraction. */
  MEDIA_PROCESS_TIMEOUT_MS: int(60_000, 100),
  /**
   * Path of ffmpeg. Unset: the system's ffmpeg on PATH, else the one bundled by `pnpm install`
   * (`@ffmpeg-installer/ffmpeg`). Set: exactly this one (ffprobe beside it unless MEDIA_FFPROBE_PATH).
   */
  MEDIA_FFMPEG_PATH: optional(),
  /** The process's PATH: where a system ffmpeg/ffprobe is looked for (unset = only the bundled ones). */
  PATH: optional(),
  /** Path of ffprobe (default: beside MEDIA_FFMPEG_PATH, else on PATH, else the bundled one). */
  MEDIA_FFPROBE_PATH: optional(),
  /** Memory cap of each child process reading a document (V8 heap, RSS watchdog, `prlimit --data`). */
  MEDIA_PROCESS_MEMORY_MB: int(512, 64),
  /** A PDF whose content streams inflate to more than this is "too large to read" (decompression bombs). */
  MEDIA_DOCUMENT_MAX_INFLATED_BYTES: int(64 * MB, 1024),
  /** Only the first pages of a longer PDF are read. */
  MEDIA_DOCUMENT_MAX_PAGES: int(100, 1),
  /** How long transcripts are kept per media id (a retried turn reuses them). */
  MEDIA_TRANSCRIPT_TTL_SEC: int(30 * 24 * 3600, 60),
};

/** Parsed values of {@link mediaEnv}. */
export type MediaEnv = z.infer<z.ZodObject<typeof mediaEnv>>;

/** Per-kind download limits, in bytes. */
export interface MediaLimits {
  maxBytes: number;
  imageBytes: number;
  audioBytes: number;
  documentBytes: number;
  videoBytes: number;
  textChars: number;
  audioSec: number;
}

/** The limits of a parsed environment (each kind also capped by MEDIA_MAX_BYTES). */
export function limitsFrom(env: MediaEnv): MediaLimits {
  const cap = (n: number) => Math.min(n, env.MEDIA_MAX_BYTES);
  return {
    maxBytes: env.MEDIA_MAX_BYTES,
    imageBytes: cap(env.MEDIA_IMAGE_MAX_BYTES),
    audioBytes: cap(env.MEDIA_AUDIO_MAX_BYTES),
    documentBytes: cap(env.MEDIA_DOCUMENT_MAX_BYTES),
    videoBytes: cap(env.MEDIA_VIDEO_MAX_BYTES),
    textChars: env.MEDIA_TEXT_MAX_CHARS,
    audioSec: env.MEDIA_MAX_AUDIO_SEC,
  };
}

/** Defaults of {@link mediaEnv} as limits (tests, tools). */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = limitsFrom(z.object(mediaEnv).parse({}));
