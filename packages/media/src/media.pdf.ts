import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { MediaError, MediaFailureReason, errorText } from './media.errors.js';

/** Extracted text of a document. */
export interface ExtractedText {
  text: string;
  /** True when the text was cut at the character cap. */
  truncated: boolean;
  pages?: number;
}

/**
 * The PDF parser runs in a worker thread: parsing a customer's file is CPU-bound and untrusted, so
 * it gets its own heap limit and a hard timeout instead of blocking the turn workers' event loop.
 * (It also keeps unpdf's ES-module pdf.js build out of the CommonJS module graph.)
 */
const PDF_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const unpdf = require(workerData.unpdf);
  const pdf = await unpdf.getDocumentProxy(new Uint8Array(workerData.bytes));
  const { totalPages, text } = await unpdf.extractText(pdf, { mergePages: true });
  parentPort.postMessage({ ok: true, pages: totalPages, text: String(text) });
})().catch((err) => parentPort.postMessage({ ok: false, error: String(err && err.message || err) }));
`;

/** Extracts the text of a PDF file, cut to `maxChars`. */
export async function extractPdfText(path: string, opts: { maxChars: number; timeoutMs: number }): Promise<ExtractedText> {
  const bytes = await readFile(path);
  const result = await new Promise<{ ok: true; pages: number; text: string } | { ok: false; error: string }>((resolve, reject) => {
    const worker = new Worker(PDF_WORKER_SOURCE, {
      eval: true,
      workerData: { unpdf: require.resolve('unpdf'), bytes },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
      stdout: true,
      stderr: true,
    });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new MediaError(MediaFailureReason.extractionFailed, `the PDF could not be read within ${Math.round(opts.timeoutMs / 1000)} s`));
    }, opts.timeoutMs);
    worker.once('message', (m: { ok: true; pages: number; text: string } | { ok: false; error: string }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(new MediaError(MediaFailureReason.extractionFailed, `the PDF could not be read: ${errorText(err)}`, { cause: err }));
    });
  });
  if (!result.ok) throw new MediaError(MediaFailureReason.extractionFailed, `the PDF could not be read: ${result.error}`);
  const clean = normalizeText(result.text);
  return { ...cut(clean, opts.maxChars), pages: result.pages };
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
