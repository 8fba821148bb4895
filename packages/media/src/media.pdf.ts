import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaError, MediaFailureReason, errorText, formatBytes } from './media.errors.js';

/** Extracted text of a document. */
export interface ExtractedText {
  text: string;
  /** True when the text was cut at the character cap. */
  truncated: boolean;
  pages?: number;
  /** Pages actually read (fewer than `pages` past MEDIA_DOCUMENT_MAX_PAGES). */
  pagesRead?: number;
}

/** Bounds of one document extraction. */
export interface DocumentLimits {
  maxChars: number;
  timeoutMs: number;
  /** Memory of the reader process: V8 heap at half of it, RSS watchdog and `prlimit --data` at it (MEDIA_PROCESS_MEMORY_MB). */
  memoryMb: number;
  /** Sum of the inflated sizes of the content streams (MEDIA_DOCUMENT_MAX_INFLATED_BYTES). */
  maxInflatedBytes: number;
  /** Pages read at most (MEDIA_DOCUMENT_MAX_PAGES). */
  maxPages: number;
}

/** Defaults of {@link DocumentLimits} besides maxChars and timeoutMs. */
export const DEFAULT_DOCUMENT_LIMITS = { memoryMb: 512, maxInflatedBytes: 64 * 1024 * 1024, maxPages: 100 } as const;

/** The reader script: plain CommonJS shipped beside `dist/` and `src/`, run as its own node process. */
const READER = join(__dirname, '..', 'reader', 'media-reader.cjs');

/** `prlimit` (util-linux) where the system has it: a hard cap the kernel enforces on the reader's data segment. */
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

/** Resident memory of a process in bytes (Linux `/proc`), undefined elsewhere or when it is gone. */
async function rssBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'latin1');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one job of `reader/media-reader.cjs` in its own node process and returns its one-line JSON
 * answer. The child gets no environment (no secrets), a V8 heap limit of half `memoryMb`,
 * `prlimit --data=memoryMb` where available and an RSS watchdog here; past the memory bound it is
 * killed and the job is `tooLarge(...)`, past `timeoutMs` it is killed with `extraction_failed`.
 * This process's memory and event loop are never involved in the parsing.
 */
export async function runReader<T extends { ok: boolean }>(
  job: Record<string, unknown>,
  opts: { memoryMb: number; timeoutMs: number; outCapBytes: number; what: string; tooLarge: (detail: string) => MediaError },
): Promise<T> {
  const nodeArgs = [`--max-old-space-size=${Math.max(32, Math.floor(opts.memoryMb / 2))}`, READER, JSON.stringify(job)];
  const [cmd, argv] = PRLIMIT ? [PRLIMIT, [`--data=${opts.memoryMb * 1024 * 1024}`, '--', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const limit = opts.memoryMb * 1024 * 1024;
  const memoryVerdict = () => opts.tooLarge(`reading it needs more than ${formatBytes(limit)} of memory`);
  return new Promise<T>((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: {} });
    let out = '';
    let err = '';
    let verdict: MediaError | undefined;
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < opts.outCapBytes) out += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString('utf8')).slice(-4096);
    });
    const kill = (why: MediaError) => {
      verdict ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(new MediaError(MediaFailureReason.extractionFailed, `${opts.what} could not be read within ${Math.round(opts.timeoutMs / 1000)} s`)), opts.timeoutMs);
    const watchdog = setInterval(() => {
      if (child.pid === undefined) return;
      void rssBytes(child.pid).then((rss) => {
        if (rss !== undefined && rss > limit) kill(memoryVerdict());
      });
    }, 50);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(watchdog);
      reject(new MediaError(MediaFailureReason.extractionFailed, `${opts.what} could not be read: ${errorText(e)}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(watchdog);
      if (verdict) return reject(verdict);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        try {
          return resolve(JSON.parse(line) as T);
        } catch {
          // a cut answer: fall through
        }
      }
      // V8's heap limit or the kernel's data limit ended it
      if (signal === 'SIGABRT' || signal === 'SIGSEGV' || signal === 'SIGKILL' || code === 134 || /out of memory|allocation failed/i.test(err)) return reject(memoryVerdict());
      reject(new MediaError(MediaFailureReason.extractionFailed, `${opts.what} could not be read (reader exited with ${signal ?? code})`));
    });
  });
}

type PdfAnswer = { ok: true; pages: number; pagesRead: number; text: string } | { ok: false; code: 'too_large' | 'failed'; error: string };

/**
 * Extracts the text of a PDF in a separate node process ({@link runReader}), so a hostile file can
 * neither grow this process's memory (pdf.js inflates into ArrayBuffers, which the V8 heap limit of
 * a worker thread does not cover) nor block its event loop. The reader refuses files whose content
 * streams inflate past `maxInflatedBytes` before pdf.js parses them and reads at most `maxPages`.
 * A file over any memory bound is "too large to read"; over `timeoutMs` it is killed.
 */
export async function extractPdfText(path: string, opts: { maxChars: number; timeoutMs: number; what?: string } & Partial<DocumentLimits>): Promise<ExtractedText> {
  const what = opts.what ?? 'the PDF';
  const tooLarge = (detail: string) => new MediaError(MediaFailureReason.tooLarge, `${what} is too large to read (${detail})`);
  const answer = await runReader<PdfAnswer>(
    {
      mode: 'pdf',
      path,
      unpdf: require.resolve('unpdf'),
      maxInflatedBytes: opts.maxInflatedBytes ?? DEFAULT_DOCUMENT_LIMITS.maxInflatedBytes,
      maxPages: opts.maxPages ?? DEFAULT_DOCUMENT_LIMITS.maxPages,
      maxChars: opts.maxChars,
    },
    { memoryMb: opts.memoryMb ?? DEFAULT_DOCUMENT_LIMITS.memoryMb, timeoutMs: opts.timeoutMs, outCapBytes: opts.maxChars * 8 + 64 * 1024, what, tooLarge },
  );
  if (!answer.ok) {
    if (answer.code === 'too_large') throw tooLarge(answer.error.replace(/(\d+) bytes/, (_, n: string) => formatBytes(Number(n))));
    throw new MediaError(MediaFailureReason.extractionFailed, `${what} could not be read: ${answer.error}`);
  }
  const clean = normalizeText(answer.text);
  return { ...cut(clean, opts.maxChars), pages: answer.pages, pagesRead: answer.pagesRead };
}

/** Reads a text file (UTF-8; a BOM is dropped), cut to `maxChars`. */
export async function extractPlainText(path: string, opts: { maxChars: number }): Promise<ExtractedText> {
  const raw = (await readFile(path)).toString('utf8').replace(/^\uFEFF/, '');
  return cut(normalizeText(raw), opts.maxChars);
}

function normalizeText(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function cut(s: string, max: number): ExtractedText {
  const chars = Array.from(s);
  if (chars.length <= max) return { text: s, truncated: false };
  return { text: chars.slice(0, max).join(''), truncated: true };
}
