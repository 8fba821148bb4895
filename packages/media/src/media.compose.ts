import OpenAI from 'openai';
import type { ChannelId, Logger } from '@switchboard/core';
import { GuardedFetcher } from '@switchboard/fetch';
import type { MediaKeys, RedisClient } from '@switchboard/queue';
import { limitsFrom, type MediaEnv } from './media.env.js';
import { Ffmpeg, selectFfmpeg } from './media.ffmpeg.js';
import { MediaResolver, type MediaCounter, type MediaResolverOptions } from './media.resolver.js';
import { MediaTempStore } from './media.store.js';
import { OpenAITranscriber, TranscriptCache } from './media.transcribe.js';

/** Everything {@link createMediaResolver} needs besides the media env. */
export interface MediaResolverDeps {
  log: Logger;
  redis: RedisClient;
  /** Media cache keys: `gatewayKeys(prefix).media`. */
  keys: MediaKeys;
  counter?: MediaCounter;
  /** OPENAI_API_KEY / OPENAI_BASE_URL; absent = no transcription. */
  openai?: { apiKey: string; baseURL?: string; timeoutMs?: number };
  /** Where each channel's media is downloaded from (the channel modules' sources); a channel without one gets `not_configured`. */
  sources: MediaResolverOptions['sources'];
  /** The most each channel's provider lets us download in one request (the channel modules' `media.downloadMaxBytes`). */
  downloadMax?: Partial<Record<ChannelId, number>>;
  /** Shared with the outbound preparers, so one budget covers all of the process's temp files. */
  store?: MediaTempStore;
  ffmpeg?: Ffmpeg;
}

/** The temp store of a media env. */
export function createMediaStore(env: MediaEnv): MediaTempStore {
  return new MediaTempStore({ ...(env.MEDIA_TMP_DIR ? { dir: env.MEDIA_TMP_DIR } : {}), maxBytes: env.MEDIA_TMP_MAX_BYTES });
}

/**
 * The ffmpeg wrapper of a media env: MEDIA_FFMPEG_PATH, else the system's on `pathEnv` (the
 * process's PATH), else the npm-bundled one (see {@link selectFfmpeg}).
 */
export function createFfmpeg(env: MediaEnv, pathEnv: string | undefined = env.PATH): Ffmpeg {
  const selection = selectFfmpeg({
    ...(env.MEDIA_FFMPEG_PATH ? { configured: env.MEDIA_FFMPEG_PATH } : {}),
    ...(env.MEDIA_FFPROBE_PATH ? { configuredProbe: env.MEDIA_FFPROBE_PATH } : {}),
    pathEnv,
  });
  return new Ffmpeg({ selection, timeoutMs: env.MEDIA_PROCESS_TIMEOUT_MS });
}

/** A guarded fetcher with the media caps and nothing allowed beyond public addresses and provider origins. */
export function defaultMediaFetcher(env: MediaEnv): GuardedFetcher {
  return new GuardedFetcher({ timeoutMs: env.MEDIA_DOWNLOAD_TIMEOUT_MS, maxBytes: env.MEDIA_MAX_BYTES });
}

/** Builds the resolver of a worker from its parsed env and clients (composition root helper). */
export function createMediaResolver(env: MediaEnv, deps: MediaResolverDeps): MediaResolver {
  const transcriber = deps.openai
    ? new OpenAITranscriber(
        new OpenAI({ apiKey: deps.openai.apiKey, ...(deps.openai.baseURL ? { baseURL: deps.openai.baseURL } : {}), timeout: deps.openai.timeoutMs ?? 120_000, maxRetries: 2 }),
        env.TRANSCRIBE_MODEL,
      )
    : undefined;
  return new MediaResolver({
    sources: deps.sources,
    ...(deps.downloadMax ? { downloadMax: deps.downloadMax } : {}),
    store: deps.store ?? createMediaStore(env),
    ffmpeg: deps.ffmpeg ?? createFfmpeg(env),
    ...(transcriber ? { transcriber, transcripts: new TranscriptCache(deps.redis, deps.keys, env.MEDIA_TRANSCRIPT_TTL_SEC) } : {}),
    limits: limitsFrom(env),
    transcribeVideo: env.MEDIA_TRANSCRIBE_VIDEO,
    processTimeoutMs: env.MEDIA_PROCESS_TIMEOUT_MS,
    documents: { memoryMb: env.MEDIA_PROCESS_MEMORY_MB, maxInflatedBytes: env.MEDIA_DOCUMENT_MAX_INFLATED_BYTES, maxPages: env.MEDIA_DOCUMENT_MAX_PAGES },
    log: deps.log,
    ...(deps.counter ? { counter: deps.counter } : {}),
  });
}
