import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { MediaError, MediaFailureReason } from './media.errors.js';
import { sniffFormat, SNIFF_BYTES, type MediaFormat, type SniffedFormat } from './media.mime.js';
import { CONVERTIBLE_FORMATS, describeFormat } from './media.policy.js';

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
export const FFMPEG_HINT =
  'ffmpeg is not installed on this worker (run `pnpm install` to get the bundled one, install it with the system package manager, e.g. `apt-get install -y ffmpeg`, or set MEDIA_FFMPEG_PATH)';

/** Which ffmpeg a worker uses: an explicit path, the system's (on PATH), the npm-bundled one, or none. */
export interface FfmpegSelection {
  readonly source: 'configured' | 'system' | 'bundled' | 'none';
  readonly ffmpegPath?: string;
  /** Absent = durations come from {@link probe}-free readers only. */
  readonly ffprobePath?: string;
}

/** First executable `name` in the directories of a PATH value. */
export function findOnPath(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The binary an `@ffmpeg-installer/*`-style package ships for this platform, if installed. */
function bundled(pkg: string): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional package, named at run time
    const p = (require(pkg) as { path?: string }).path;
    if (p && statSync(p).isFile()) return p;
  } catch {
    // package absent or no binary for this platform
  }
  return undefined;
}

/**
 * Picks ffmpeg/ffprobe: MEDIA_FFMPEG_PATH when set (ffprobe beside it or MEDIA_FFPROBE_PATH);
 * else the system's on PATH; else the binaries of `@ffmpeg-installer/ffmpeg` and
 * `@ffprobe-installer/ffprobe` that `pnpm install` put in node_modules (nothing is downloaded at
 * run time). `pathEnv` is the PATH to search, injectable for tests.
 */
export function selectFfmpeg(opts: { configured?: string; configuredProbe?: string; pathEnv: string | undefined }): FfmpegSelection {
  if (opts.configured) {
    const dir = dirname(opts.configured);
    const probe = opts.configuredProbe ?? (dir === '.' && !opts.configured.startsWith('.') ? 'ffprobe' : join(dir, basename(opts.configured).replace(/ffmpeg/, 'ffprobe')));
    return { source: 'configured', ffmpegPath: opts.configured, ffprobePath: probe };
  }
  const system = findOnPath('ffmpeg', opts.pathEnv);
  if (system) {
    const probe = findOnPath('ffprobe', opts.pathEnv) ?? bundled('@ffprobe-installer/ffprobe');
    return { source: 'system', ffmpegPath: system, ...(probe ? { ffprobePath: probe } : {}) };
  }
  const ff = bundled('@ffmpeg-installer/ffmpeg');
  const probe = opts.configuredProbe ?? findOnPath('ffprobe', opts.pathEnv) ?? bundled('@ffprobe-installer/ffprobe');
  if (ff) return { source: 'bundled', ffmpegPath: ff, ...(probe ? { ffprobePath: probe } : {}) };
  return { source: 'none', ...(probe ? { ffprobePath: probe } : {}) };
}

/** Reads the first {@link SNIFF_BYTES} of a file. */
export async function readHead(path: string, n = SNIFF_BYTES): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * The input arguments of one ffmpeg/ffprobe run over an untrusted file: its format is sniffed
 * from the bytes and must be in `allowed`; the demuxer is forced to that format (`-f`), only the
 * `file` protocol may be opened (so no playlist, concat list, `subfile:`, `http:`… can reach
 * anything else) and the path is given as `file:<absolute path>` so no name is read as a URL.
 * Anything else is refused as unsupported media before the tool starts.
 */
export async function hardenedInput(path: string, allowed: ReadonlySet<MediaFormat>): Promise<{ args: string[]; format: SniffedFormat }> {
  const f = sniffFormat(await readHead(path));
  if (!f?.demuxer || f.indirection || !allowed.has(f.format)) {
    throw new MediaError(MediaFailureReason.unsupportedType, `unsupported media (${describeFormat(f)}): not handed to ffmpeg`);
  }
  // MOV/MP4 data references (`dref`) may name other files: keep them off explicitly (ffmpeg's default)
  const demuxerOptions = f.demuxer === 'mov' ? ['-enable_drefs', '0'] : [];
  return { args: ['-protocol_whitelist', 'file', '-f', f.demuxer, ...demuxerOptions, '-i', `file:${resolve(path)}`], format: f };
}

/**
 * ffmpeg/ffprobe as child processes: no shell, bounded time, bounded output, hardened inputs
 * ({@link hardenedInput}). Whether ffmpeg is present (and which encoders it has) is checked once
 * and remembered.
 */
export class Ffmpeg {
  readonly ffmpegPath: string | undefined;
  readonly ffprobePath: string | undefined;
  readonly source: FfmpegSelection['source'];
  private readonly timeoutMs: number;
  private availability: Promise<{ ok: boolean; probe: boolean; encoders: Set<string> }> | undefined;

  /** `path` = a fixed ffmpeg (ffprobe beside it); `selection` = the result of {@link selectFfmpeg}; neither = `ffmpeg` on PATH. */
  constructor(opts: { path?: string; selection?: FfmpegSelection; timeoutMs?: number } = {}) {
    const sel = opts.selection ?? selectFfmpeg({ configured: opts.path ?? 'ffmpeg', pathEnv: undefined });
    this.source = opts.selection ? sel.source : opts.path ? 'configured' : 'system';
    this.ffmpegPath = sel.ffmpegPath;
    this.ffprobePath = sel.ffprobePath;
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

  private check(): Promise<{ ok: boolean; probe: boolean; encoders: Set<string> }> {
    this.availability ??= (async () => {
      const ffmpeg = this.ffmpegPath;
      if (!ffmpeg) return { ok: false, probe: false, encoders: new Set<string>() };
      try {
        const [version, enc] = await Promise.all([this.run(ffmpeg, ['-hide_banner', '-version'], 10_000), this.run(ffmpeg, ['-hide_banner', '-encoders'], 10_000)]);
        const probe = this.ffprobePath ? await this.run(this.ffprobePath, ['-hide_banner', '-version'], 10_000).catch(() => ({ code: 1 })) : { code: 1 };
        const encoders = new Set(
          enc.stdout
            .split('\n')
            .map((l) => /^\s*[VAS][\w.]{5}\s+(\S+)/.exec(l)?.[1])
            .filter((x): x is string => !!x),
        );
        return { ok: version.code === 0, probe: version.code === 0 && probe.code === 0, encoders };
      } catch {
        return { ok: false, probe: false, encoders: new Set<string>() };
      }
    })();
    return this.availability;
  }

  /** True when ffmpeg runs. */
  async available(): Promise<boolean> {
    return (await this.check()).ok;
  }

  /** True when ffprobe runs too (durations, stream facts). */
  async probeAvailable(): Promise<boolean> {
    return (await this.check()).probe;
  }

  /** Which binaries are used, for the start-up log. */
  describe(): { source: FfmpegSelection['source']; ffmpeg?: string; ffprobe?: string } {
    return { source: this.source, ...(this.ffmpegPath ? { ffmpeg: this.ffmpegPath } : {}), ...(this.ffprobePath ? { ffprobe: this.ffprobePath } : {}) };
  }

  /** True when ffmpeg can encode with `encoder` (e.g. `libopencore_amrnb`, `libopus`). */
  async hasEncoder(encoder: string): Promise<boolean> {
    const c = await this.check();
    return c.ok && c.encoders.has(encoder);
  }

  private async require(): Promise<string> {
    if (!this.ffmpegPath || !(await this.available())) throw new MediaError(MediaFailureReason.ffmpegMissing, FFMPEG_HINT);
    return this.ffmpegPath;
  }

  /** Duration, codecs and streams of a file. */
  async probe(path: string): Promise<ProbeResult> {
    if (!this.ffprobePath || !(await this.probeAvailable())) throw new MediaError(MediaFailureReason.ffmpegMissing, FFMPEG_HINT.replace(/ffmpeg is/, 'ffprobe is'));
    const input = await hardenedInput(path, CONVERTIBLE_FORMATS.audio);
    const r = await this.run(this.ffprobePath, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...input.args]);
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

  private async convert(input: string, output: string, args: string[], what: string, allowed: ReadonlySet<MediaFormat> = CONVERTIBLE_FORMATS.audio): Promise<number> {
    const ffmpeg = await this.require();
    const inputArgs = (await hardenedInput(input, allowed)).args;
    const r = await this.run(ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...inputArgs, ...args, `file:${resolve(output)}`]);
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
    return this.convert(input, output, ['-frames:v', '1', '-q:v', '3', '-f', 'image2', '-c:v', 'mjpeg'], 'the image', CONVERTIBLE_FORMATS.image);
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop()?.slice(0, 300) || 'unknown error';
}
