/** Measures text in the unit a channel limits (UTF-16 units for WhatsApp, UTF-8 bytes for WeChat). */
export type Measure = (s: string) => number;

export const utf16Length: Measure = (s) => s.length;
export const utf8Length: Measure = (s) => Buffer.byteLength(s, 'utf8');

/** Splits a string into code points (never cuts a surrogate pair). */
function codePoints(s: string): string[] {
  return Array.from(s);
}

function hardCut(piece: string, max: number, measure: Measure): string[] {
  const out: string[] = [];
  let cur = '';
  for (const cp of codePoints(piece)) {
    if (measure(cur + cp) > max && cur) {
      out.push(cur);
      cur = '';
    }
    cur += cp;
  }
  if (cur) out.push(cur);
  return out;
}

const SEPARATORS: RegExp[] = [
  /(?<=\n\n)/, // paragraphs
  /(?<=\n)/, // lines
  /(?<=[.!?。！？…]["')\]」』]?\s)|(?<=[。！？])/u, // sentences (Latin and CJK)
  /(?<=[,;:，；：、]\s?)/u, // clauses
  /(?<=\s)/, // words
];

function splitWith(text: string, max: number, measure: Measure, level: number): string[] {
  if (measure(text) <= max) return [text];
  const sep = SEPARATORS[level];
  if (!sep) return hardCut(text, max, measure);
  const pieces = text.split(sep).filter((p) => p.length > 0);
  if (pieces.length <= 1) return splitWith(text, max, measure, level + 1);
  const chunks: string[] = [];
  let cur = '';
  for (const piece of pieces) {
    if (measure(piece) > max) {
      if (cur) chunks.push(cur);
      cur = '';
      chunks.push(...splitWith(piece, max, measure, level + 1));
      continue;
    }
    if (measure(cur + piece) > max) {
      chunks.push(cur);
      cur = piece;
    } else {
      cur += piece;
    }
  }
  if (cur) chunks.push(cur);
  return chunks;
}

/**
 * Splits text into chunks of at most `max` units, preferring paragraph, then line, sentence,
 * clause and word boundaries; never cuts inside a code point. Deterministic: the same input
 * always gives the same chunks, which lets a retried send resume at the first unsent chunk.
 */
export function splitText(text: string, max: number, measure: Measure = utf16Length): string[] {
  if (max <= 0) throw new RangeError('max must be positive');
  return splitWith(text, max, measure, 0)
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

/**
 * Packs blocks (paragraphs, code fences) into chunks of at most `max` units joined by `joiner`.
 * A block larger than `max` is split with `splitBlock` (default {@link splitText}).
 */
export function packBlocks(
  blocks: readonly string[],
  max: number,
  measure: Measure = utf16Length,
  joiner = '\n\n',
  splitBlock: (block: string) => string[] = (b) => splitText(b, max, measure),
): string[] {
  const chunks: string[] = [];
  let cur = '';
  for (const block of blocks) {
    const pieces = measure(block) > max ? splitBlock(block) : [block];
    for (const piece of pieces) {
      const candidate = cur ? cur + joiner + piece : piece;
      if (measure(candidate) <= max) {
        cur = candidate;
      } else {
        if (cur) chunks.push(cur);
        cur = piece;
      }
    }
  }
  if (cur) chunks.push(cur);
  return chunks;
}

/**
 * Fits already split chunks into at most `budget` parts. When there are more, the first
 * `budget - 1` are kept and the last kept part is cut (on a sentence, clause or word boundary) so
 * that it ends with `note` (joined by `joiner`) within `max` units: the customer gets a coherent
 * beginning and is told it was shortened, instead of dozens of messages.
 */
export function fitParts(chunks: readonly string[], budget: number, max: number, measure: Measure, note: string, joiner = '\n\n'): string[] {
  if (budget <= 0) return [];
  if (chunks.length <= budget) return [...chunks];
  const kept = chunks.slice(0, budget - 1);
  const tail = note ? `${joiner}${note}` : '';
  const room = Math.max(1, max - measure(tail));
  const head = splitText(chunks.slice(budget - 1).join('\n\n'), room, measure)[0] ?? '';
  return [...kept, `${head}${tail}`];
}
