/**
 * Structure-aware chunking of a document's readable text (Markdown-like: every extractor produces
 * headings as `#` lines, tables as `|` rows, lists as `-`/`1.` items). Chunks follow the document's
 * sections: a chunk never spans two sections, carries its heading path ("Returns › Germany"), keeps
 * a table or a list whole when it fits, and overlaps the previous chunk of its section by about
 * `overlap` characters so a fact cut at a boundary is still found with its context.
 *
 * Sizes are in "Latin-equivalent" characters: a CJK character counts as {@link CJK_WEIGHT}, since
 * one Chinese character carries about as much as two or three English letters.
 */

/** Chunk sizes; defaults: about 1000 Latin characters (≈ 400 Chinese), 150 overlap. */
export interface ChunkOptions {
  readonly maxChars?: number;
  readonly overlap?: number;
}

/** One chunk of a document. */
export interface Chunk {
  /** Position in the document, from 0. */
  readonly index: number;
  /** Heading path of the section ("Shipping › Germany"); empty before the first heading. */
  readonly heading: string;
  /** The chunk's text (without the heading path). */
  readonly text: string;
}

export const DEFAULT_MAX_CHARS = 1000;
export const DEFAULT_OVERLAP = 150;
const CJK_WEIGHT = 2.5;
const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** Size of a text in Latin-equivalent characters. */
export function weightedLength(text: string): number {
  let n = 0;
  for (const ch of text) n += CJK_CHAR.test(ch) ? CJK_WEIGHT : 1;
  return n;
}

type Block = { readonly kind: 'heading'; readonly level: number; readonly text: string } | { readonly kind: 'table' | 'list' | 'code' | 'paragraph'; readonly text: string };

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const TABLE_ROW = /^\s*\|.*\|\s*$/;
const LIST_ITEM = /^\s*(?:[-*+•]|\d{1,3}[.)])\s+/;

/** Splits Markdown-like text into headings, tables, lists, code blocks and paragraphs. */
function blocksOf(text: string): Block[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  const take = (pred: (line: string) => boolean): string[] => {
    const out: string[] = [];
    while (i < lines.length && pred(lines[i]!)) out.push(lines[i++]!);
    return out;
  };
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const h = HEADING.exec(line);
    if (h) {
      blocks.push({ kind: 'heading', level: h[1]!.length, text: h[2]! });
      i++;
    } else if (/^\s*```/.test(line)) {
      const fence = [lines[i++]!];
      fence.push(...take((l) => !/^\s*```/.test(l)));
      if (i < lines.length) fence.push(lines[i++]!);
      blocks.push({ kind: 'code', text: fence.join('\n') });
    } else if (TABLE_ROW.test(line)) {
      blocks.push({ kind: 'table', text: take((l) => TABLE_ROW.test(l)).join('\n') });
    } else if (LIST_ITEM.test(line)) {
      // items and their indented continuation lines
      blocks.push({ kind: 'list', text: take((l) => l.trim() !== '' && (LIST_ITEM.test(l) || /^\s{2,}\S/.test(l))).join('\n') });
    } else {
      blocks.push({ kind: 'paragraph', text: take((l) => l.trim() !== '' && !HEADING.test(l) && !TABLE_ROW.test(l) && !LIST_ITEM.test(l) && !/^\s*```/.test(l)).join('\n') });
    }
  }
  return blocks;
}

/** Sentences of a paragraph (Latin and CJK end marks), each with its end mark. */
function sentencesOf(text: string): string[] {
  const parts = text.match(/[^.!?。！？；;\n]+(?:[.!?。！？；;]+["'”’)）]*|\n|$)/gu) ?? [text];
  return parts.map((s) => s.trim()).filter(Boolean);
}

/** Cuts a piece that is still too long at `max` weighted characters (last resort: a wall of text). */
function hardSplit(text: string, max: number): string[] {
  const out: string[] = [];
  let cur = '';
  let size = 0;
  for (const ch of text) {
    const w = CJK_CHAR.test(ch) ? CJK_WEIGHT : 1;
    if (size + w > max && cur) {
      // prefer to cut at the last space of the piece
      const cut = cur.lastIndexOf(' ');
      if (cut > cur.length / 2) {
        out.push(cur.slice(0, cut));
        cur = cur.slice(cut + 1);
        size = weightedLength(cur);
      } else {
        out.push(cur);
        cur = '';
        size = 0;
      }
    }
    cur += ch;
    size += w;
  }
  if (cur.trim()) out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

/** A block too big for one chunk, as pieces that each fit (tables repeat their header rows). */
function piecesOf(block: Block, max: number): string[] {
  if (weightedLength(block.text) <= max) return [block.text];
  if (block.kind === 'table') {
    const rows = block.text.split('\n');
    const separator = rows[1] && /^\s*\|[\s:|-]+\|\s*$/.test(rows[1]) ? 2 : 1;
    const header = rows.slice(0, separator).join('\n');
    const pieces: string[] = [];
    let cur: string[] = [];
    for (const row of rows.slice(separator)) {
      if (cur.length > 0 && weightedLength([header, ...cur, row].join('\n')) > max) {
        pieces.push([header, ...cur].join('\n'));
        cur = [];
      }
      cur.push(row);
    }
    if (cur.length > 0) pieces.push([header, ...cur].join('\n'));
    return pieces.flatMap((p) => (weightedLength(p) > max ? hardSplit(p, max) : [p]));
  }
  const units = block.kind === 'list' || block.kind === 'code' ? block.text.split('\n') : sentencesOf(block.text);
  const joiner = block.kind === 'paragraph' ? ' ' : '\n';
  const pieces: string[] = [];
  let cur = '';
  for (const unit of units.flatMap((u) => (weightedLength(u) > max ? hardSplit(u, max) : [u]))) {
    if (cur && weightedLength(cur + joiner + unit) > max) {
      pieces.push(cur);
      cur = unit;
    } else cur = cur ? cur + joiner + unit : unit;
  }
  if (cur) pieces.push(cur);
  return pieces;
}

/** The end of `text` worth about `overlap` weighted characters, starting at a sentence or word. */
function tailOf(text: string, overlap: number): string {
  if (overlap <= 0) return '';
  const sentences = sentencesOf(text.replace(/\n+/g, ' '));
  let tail = '';
  for (let i = sentences.length - 1; i >= 0; i--) {
    const next = tail ? `${sentences[i]} ${tail}` : sentences[i]!;
    if (weightedLength(next) > overlap) break;
    tail = next;
  }
  return tail;
}

/**
 * Chunks a document's text. Empty text gives no chunks. Deterministic: the same text and options
 * always give the same chunks (re-ingesting an unchanged document changes nothing).
 */
export function chunkDocument(text: string, opts: ChunkOptions = {}): Chunk[] {
  const max = Math.max(200, opts.maxChars ?? DEFAULT_MAX_CHARS);
  const overlap = Math.min(Math.max(0, opts.overlap ?? DEFAULT_OVERLAP), Math.floor(max / 3));
  const chunks: Chunk[] = [];
  const path: Array<{ level: number; text: string }> = [];
  let parts: string[] = [];
  let size = 0;
  let carried = false;

  const heading = () => path.map((h) => h.text).join(' › ');
  const flush = (keepTail: boolean) => {
    const body = parts.join('\n\n').trim();
    if (body && !(carried && parts.length === 1)) chunks.push({ index: chunks.length, heading: heading(), text: body });
    const tail = keepTail && body ? tailOf(body, overlap) : '';
    parts = tail ? [tail] : [];
    size = tail ? weightedLength(tail) : 0;
    carried = Boolean(tail);
  };

  for (const block of blocksOf(text)) {
    if (block.kind === 'heading') {
      flush(false);
      while (path.length > 0 && path[path.length - 1]!.level >= block.level) path.pop();
      path.push({ level: block.level, text: block.text.trim() });
      continue;
    }
    for (const piece of piecesOf(block, max - overlap)) {
      const w = weightedLength(piece);
      if (size > 0 && size + w + 2 > max) flush(true);
      parts.push(piece);
      size += w + 2;
      carried = carried && parts.length === 1;
    }
  }
  flush(false);
  return chunks;
}
