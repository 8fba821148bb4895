import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MediaError, MediaFailureReason } from './media.errors.js';

/** What ffprobe says about a file. */
export interface ProbeResult {
  durationSec?: number;
  formatName?: string;
  audioCodec?: string;
  videoCodec?: string;
  width?: number;
  height?: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Install hint shown whenever ffmpeg is needed and absent. */
export const FFMPEG_HINT = 'ffmpeg is not installed on this worker (install it with the system package manager, e.g. `apt-get install -y ffmpeg`, or set MEDIA_FFMPEG_PATH)';

/**
 * ffmpeg/ffprobe as child processes: no shell, bounded time, bounded output. Whether ffmpeg is
 * present (and which encoders it has) is checked once and remembered.
 */
export class Ffmpeg {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  private readonly timeoutMs: number;
  private availability: Promise<{ ok: boolean; encoders: Set<string> }> | undefined;

  constructor(opts: { path?: string; timeoutMs?: number } = {}) {
    this.ffmpegPath = opts.path ?? 'ffmpeg';
    const dir = dirname(this.ffmpegPath);
    // `/opt/ff/bin/ffmpeg` → `/opt/ff/bin/ffprobe`; a bare name → `ffprobe` on PATH
    this.ffprobePath = dir === '.' && !this.ffmpegPath.startsWith('.') ? 'ffprobe' : join(dir, basename(this.ffmpegPath).replace(/ffmpeg/, 'ffprobe'));
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  private run(cmd: string, args: string[], timeoutMs = this.timeoutMs): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const cap = 256 * 1024;
      child.stdout.on('data', (d: Buffer) => {
        if (stdout.length < cap) stdout += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => {
        // keep the tail: ffmpeg prints the actual error last
        stderr = (stderr + d.toString('utf8')).slice(-8 * 1024);
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new MediaError(MediaFailureReason.conversionFailed, `${basename(cmd)} did not finish within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err.code === 'ENOENT' || err.code === 'EACCES') reject(new MediaError(MediaFailureReason.ffmpegMissing, FFMPEG_HINT, { cause: err }));
        else reject(new MediaError(MediaFailureReason.conversionFailed, `${basename(cmd)} could not start: ${err.message}`, { cause: err }));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  private check(): Promise<{ ok: boolean; encoders: Set<string> }> {
    this.availability ??= (async () => {
      try {
        const [version, enc] = await Promise.all([this.run(this.ffmpegPath, ['-hide_banner', '-version'], 10_000), this.run(this.ffmpegPath, ['-hide_banner', '-encoders'], 10_000)]);
        const probe = await this.run(this.ffprobePath, ['-hide_banner', '-version'], 10_000);
        const encoders = new Set(
          enc.stdout
            .split('\n')
            .map((l) => /^\s*[VAS][\w.]{5}\s+(\S+)/.exec(l)?.[1])
            .filter((x): x is string => !!x),
        );
        return { ok: version.code === 0 && probe.code === 0, encoders };
      } catch {
        return { ok: false, encoders: new Set<string>() };
      }
    })();
    return this.availability;
  }

  /** True when ffmpeg and ffprobe run. */
  async available(): Promise<boolean> {
    return (await this.check()).ok;
  }

  /** True when ffmpeg can encode with `encoder` (e.g. `libopencore_amrnb`, `libopus`). */
  async hasEncoder(encoder: string): Promise<boolean> {
    const c = await this.check();
    return c.ok && c.encoders.has(encoder);
  }

  private async require(): Promise<void> {
    if (!(await this.available())) throw new MediaError(MediaFailureReason.ffmpegMissing, FFMPEG_HINT);
  }

  /** Duration, codecs and streams of a file. */
  async probe(path: string): Promise<ProbeResult> {
    await this.require();
    const r = await this.run(this.ffprobePath, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path]);
    if (r.code !== 0) throw new MediaError(MediaFailureReason.conversionFailed, `ffprobe could not read the file: ${lastLine(r.stderr)}`);
    const j = JSON.parse(r.stdout || '{}') as {
      format?: { duration?: string; format_name?: string };
      streams?: Array<{ codec_type?: string; codec_name?: string; width?: number; height?: number; duration?: string }>;
    };
    const audio = j.streams?.find((s) => s.codec_type === 'audio');
    const video = j.streams?.find((s) => s.codec_type === 'video' && s.codec_name !== 'mjpeg' && s.codec_name !== 'png');
    const duration = Number(j.format?.duration ?? audio?.duration ?? video?.duration);
    return {
      ...(Number.isFinite(duration) ? { durationSec: duration } : {}),
      ...(j.format?.format_name ? { formatName: j.format.format_name } : {}),
      ...(audio?.codec_name ? { audioCodec: audio.codec_name } : {}),
      ...(video?.codec_name ? { videoCodec: video.codec_name } : {}),
      ...(video?.width ? { width: video.width } : {}),
      ...(video?.height ? { height: video.height } : {}),
      hasAudio: !!audio,
      hasVideo: !!video,
    };
  }

  private async convert(input: string, output: string, args: string[], what: string): Promise<number> {
    await this.require();
    const r = await this.run(this.ffmpegPath, ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', input, ...args, output]);
    if (r.code !== 0) throw new MediaError(MediaFailureReason.conversionFailed, `${what} could not be converted: ${lastLine(r.stderr)}`);
    return (await stat(output)).size;
  }

  /**
   * Any speech (OGG/Opus, AMR, AAC, a video's sound track…) → 16 kHz mono MP3, a format every
   * OpenAI-compatible transcription endpoint accepts (some reject `.oga`/Opus and AMR).
   * Returns the size of the output.
   */
  toSpeechMp3(input: string, output: string, maxSeconds?: number): Promise<number> {
    return this.convert(input, output, ['-vn', '-ac', '1', '-ar', '16000', '-c:a', 'libmp3lame', '-b:a', '32k', ...(maxSeconds ? ['-t', String(maxSeconds)] : []), '-f', 'mp3'], 'the audio');
  }

  /** Audio → OGG/Opus mono (WhatsApp voice notes). */
  toOggOpus(input: string, output: string): Promise<number> {
    return this.convert(input, output, ['-vn', '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg'], 'the audio');
  }

  /** Audio → AMR-NB 8 kHz mono (WeChat voice); needs the `libopencore_amrnb` encoder. */
  toAmr(input: string, output: string): Promise<number> {
    return this.convert(input, output, ['-vn', '-ac', '1', '-ar', '8000', '-c:a', 'libopencore_amrnb', '-b:a', '12.2k', '-f', 'amr'], 'the audio');
  }

  /** Image (first frame of gif/webp) → JPEG. */
  toJpeg(input: string, output: string): Promise<number> {
    return this.convert(input, output, ['-frames:v', '1', '-q:v', '3', '-f', 'image2', '-c:v', 'mjpeg'], 'the image');
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop()?.slice(0, 300) || 'unknown error';
}
