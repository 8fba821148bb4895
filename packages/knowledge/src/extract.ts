import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import type TurndownService from 'turndown';
import { extractPdfText } from '@switchboard/media';
import { extractLibs, type ExtractLibs } from './extract-libs.js';

/**
 * Readable text of a document, as Markdown-like text the chunker understands (headings, tables,
 * lists): HTML through Mozilla Readability (the page's main content, no menus or footers) and
 * Turndown; DOCX through mammoth; PDF through the media pipeline's bounded reader (memory, page
 * and time caps in a child process); CSV/XLSX FAQ sheets (question and answer columns) as one
 * section per question. Everything here treats its input as hostile: sizes are capped, formats are
 * sniffed from the bytes rather than trusted from a name.
 */

export type DocumentFormat = 'html' | 'markdown' | 'text' | 'docx' | 'xlsx' | 'csv' | 'pdf';

/** What extraction produced. */
export interface ExtractedDocument {
  /** The document's own title (HTML `<title>`, Readability's title, a DOCX's first heading…), if any. */
  readonly title?: string;
  readonly text: string;
  readonly format: DocumentFormat;
}

/** Limits of one extraction. */
export interface ExtractLimits {
  /** Text kept (longer text is cut and says so). */
  readonly maxChars: number;
  /** PDF reader time budget. */
  readonly timeoutMs: number;
}

/** A document that cannot be read; the message is shown in the console and the API. */
export class ExtractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtractError';
  }
}

const ZIP = Buffer.from('PK\x03\x04', 'latin1');

/**
 * The format of `bytes`: sniffed (PDF magic, a ZIP holding `word/` or `xl/`), then the declared
 * type or file name for text formats. Undefined = not a format knowledge reads.
 */
export function detectFormat(bytes: Buffer, hint: { readonly mimeType?: string | undefined; readonly filename?: string | undefined } = {}): DocumentFormat | undefined {
  const mime = (hint.mimeType ?? '').split(';')[0]!.trim().toLowerCase();
  const ext = (hint.filename ?? '').toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? '';
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  if (bytes.subarray(0, 4).equals(ZIP)) {
    const names = bytes.toString('latin1');
    if (names.includes('word/document.xml')) return 'docx';
    if (names.includes('xl/workbook.xml')) return 'xlsx';
    return undefined;
  }
  // text formats: not binary (no NUL in the first 8 KB) and valid UTF-8
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return undefined;
  if (new TextDecoder('utf-8', { fatal: false }).decode(head).includes('\uFFFD') && !/^text\//.test(mime)) return undefined;
  if (mime === 'text/html' || mime === 'application/xhtml+xml' || ext === 'html' || ext === 'htm' || /^\s*(<!doctype html|<html)/i.test(head.toString('utf8'))) return 'html';
  if (mime === 'text/markdown' || ext === 'md' || ext === 'markdown') return 'markdown';
  if (mime === 'text/csv' || ext === 'csv') return 'csv';
  return 'text';
}

function turndown({ TurndownService, gfm }: ExtractLibs): TurndownService {
  const t = new TurndownService({ headingStyle: 'atx', bulletListMarker: '-', codeBlockStyle: 'fenced', emDelimiter: '_' });
  t.use(gfm);
  // images and scripts carry no readable text for the agent
  t.remove(['script', 'style', 'noscript', 'iframe', 'img', 'svg']);
  return t;
}

/** The part of linkedom's DOM used here (its own types need the DOM library). */
interface ParsedPage {
  readonly document: { querySelector(selector: string): { readonly textContent: string | null; readonly innerHTML: string } | null };
}

/** HTML → main content → Markdown (links kept as text, never fetched). */
export async function htmlToText(html: string): Promise<{ title?: string; text: string }> {
  const libs = await extractLibs();
  const { Readability } = libs;
  const { document } = libs.parseHTML(html) as ParsedPage;
  const pageTitle = document.querySelector('title')?.textContent?.trim();
  // Readability works on a DOM; linkedom's is enough for it (no script runs, nothing is loaded)
  const article = new Readability(document, { charThreshold: 100, keepClasses: false }).parse();
  const content = article?.content ?? document.querySelector('body')?.innerHTML ?? html;
  const title = (article?.title ?? pageTitle)?.trim();
  const text = turndown(libs).turndown(content).trim();
  return { ...(title ? { title } : {}), text };
}

const QUESTION = /^(q|question|questions|frage|pregunta|问题|問題|问|提问)$/i;
const ANSWER = /^(a|answer|answers|antwort|respuesta|答案|回答|答)$/i;

/** Rows of a sheet → FAQ sections, when it has question and answer columns; else a table. */
function sheetToText(rows: string[][]): string {
  const header = rows[0]?.map((c) => c.trim()) ?? [];
  const q = header.findIndex((h) => QUESTION.test(h));
  const a = header.findIndex((h) => ANSWER.test(h));
  if (q >= 0 && a >= 0) {
    return rows
      .slice(1)
      .filter((r) => r[q]?.trim() && r[a]?.trim())
      .map((r) => `## ${r[q]!.trim().replace(/\s+/g, ' ')}\n\n${r[a]!.trim()}`)
      .join('\n\n');
  }
  const cell = (c: string) => c.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
  const width = Math.max(0, ...rows.map((r) => r.length));
  if (width === 0) return '';
  const line = (r: string[]) => `| ${Array.from({ length: width }, (_, i) => cell(r[i] ?? '')).join(' | ')} |`;
  return [line(rows[0] ?? []), `|${' --- |'.repeat(width)}`, ...rows.slice(1).map(line)].join('\n');
}

/** Most bytes the files of a DOCX/XLSX may inflate to (a zip bomb is refused before parsing). */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/**
 * The total uncompressed size a ZIP's central directory declares (each entry's own claim, which
 * deflate streams cannot exceed by much: the parsers stop at it). Throws for ZIP64 or a damaged
 * directory.
 */
export function zipInflatedSize(bytes: Buffer): number {
  const min = Math.max(0, bytes.length - 65_557);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= min; i--) {
    if (bytes.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ExtractError('the file is not a readable ZIP (no central directory)');
  const entries = bytes.readUInt16LE(eocd + 10);
  let offset = bytes.readUInt32LE(eocd + 16);
  if (entries === 0xffff || offset === 0xffffffff) throw new ExtractError('ZIP64 documents are not read');
  let total = 0;
  for (let n = 0; n < entries; n++) {
    if (offset + 46 > bytes.length || bytes.readUInt32LE(offset) !== 0x02014b50) throw new ExtractError('the file is not a readable ZIP (damaged central directory)');
    const size = bytes.readUInt32LE(offset + 24);
    if (size === 0xffffffff) throw new ExtractError('ZIP64 documents are not read');
    total += size;
    offset += 46 + bytes.readUInt16LE(offset + 28) + bytes.readUInt16LE(offset + 30) + bytes.readUInt16LE(offset + 32);
  }
  return total;
}

function checkZip(bytes: Buffer): void {
  const inflated = zipInflatedSize(bytes);
  if (inflated > MAX_INFLATED_BYTES) throw new ExtractError(`the document is too large to read (its files inflate to ${Math.round(inflated / 1048576)} MB, over ${MAX_INFLATED_BYTES / 1048576} MB)`);
}

/** The text of a spreadsheet cell (rich text, hyperlink, formula result, date or plain value). */
function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v !== 'object') return '';
  const o = v as { richText?: Array<{ text?: string }>; text?: unknown; result?: unknown };
  if (Array.isArray(o.richText)) return o.richText.map((r) => r.text ?? '').join('');
  if (o.text !== undefined) return cellText(o.text);
  if (o.result !== undefined) return cellText(o.result);
  return '';
}

function cut(text: string, maxChars: number): string {
  return text.length > maxChars ? `${text.slice(0, maxChars)}\n\n(document shortened)` : text;
}

/** Reads a document's text in the given (sniffed) format. Throws {@link ExtractError} with a reason. */
export async function extractDocument(bytes: Buffer, format: DocumentFormat, limits: ExtractLimits): Promise<ExtractedDocument> {
  const done = (text: string, title?: string): ExtractedDocument => {
    const t = cut(text.replace(/\u0000/g, '').trim(), limits.maxChars);
    if (!t) throw new ExtractError('no readable text in the document');
    return { format, text: t, ...(title ? { title } : {}) };
  };
  switch (format) {
    case 'text':
    case 'markdown':
      return done(bytes.toString('utf8'));
    case 'html': {
      const { title, text } = await htmlToText(bytes.toString('utf8'));
      return done(text, title);
    }
    case 'csv': {
      const parsed = Papa.parse<string[]>(bytes.toString('utf8').replace(/^\uFEFF/, ''), { skipEmptyLines: true });
      return done(sheetToText(parsed.data));
    }
    case 'xlsx': {
      checkZip(bytes);
      const { ExcelJS } = await extractLibs();
      const book = new ExcelJS.Workbook();
      try {
        await book.xlsx.load(bytes as unknown as ArrayBuffer);
      } catch (err) {
        throw new ExtractError(`the spreadsheet cannot be read (${err instanceof Error ? err.message : String(err)})`);
      }
      const sections = book.worksheets.map((ws) => {
        const rows: string[][] = [];
        ws.eachRow({ includeEmpty: false }, (row) => {
          const values = Array.isArray(row.values) ? row.values.slice(1) : [];
          rows.push(values.map(cellText));
        });
        const body = sheetToText(rows);
        return book.worksheets.length > 1 && body ? `# ${ws.name}\n\n${body}` : body;
      });
      return done(sections.filter(Boolean).join('\n\n'));
    }
    case 'docx': {
      checkZip(bytes);
      const libs = await extractLibs();
      let html: string;
      try {
        html = (await libs.mammoth.convertToHtml({ buffer: bytes })).value;
      } catch (err) {
        throw new ExtractError(`the Word document cannot be read (${err instanceof Error ? err.message : String(err)})`);
      }
      const text = turndown(libs).turndown(html);
      const title = /^#{1,6}\s+(.+)$/m.exec(text)?.[1]?.trim();
      return done(text, title);
    }
    case 'pdf': {
      const dir = await mkdtemp(join(tmpdir(), 'sb-kb-'));
      try {
        const path = join(dir, 'document.pdf');
        await writeFile(path, bytes);
        const out = await extractPdfText(path, { maxChars: limits.maxChars, timeoutMs: limits.timeoutMs, what: 'the PDF' });
        return done(out.text);
      } catch (err) {
        if (err instanceof ExtractError) throw err;
        throw new ExtractError(err instanceof Error ? err.message : String(err));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
}
