import { packBlocks, splitText, utf16Length } from '@switchboard/core';

/** WhatsApp's text body limit. Meta does not define "character"; UTF-16 units are the safe reading. */
export const WHATSAPP_TEXT_LIMIT = 4096;

const FENCE = /```[\s\S]*?```/g;
const PLACEHOLDER = (i: number) => `\u0000${i}\u0000`;

function convertInline(line: string): string {
  const codes: string[] = [];
  let s = line.replace(/`[^`\n]+`/g, (m) => {
    codes.push(m);
    return PLACEHOLDER(codes.length - 1);
  });
  s = s
    .replace(/!\[([^\]]*)\]\(([^)\s]+)[^)]*\)/g, (_m, alt: string, u: string) => (alt ? `${alt} (${u})` : u))
    .replace(/\[([^\]]+)\]\(([^)\s]+)[^)]*\)/g, (_m, text: string, u: string) => (text === u ? u : `${text} (${u})`))
    .replace(/(\*\*\*|___)(?=\S)([^\n]*?\S)\1/g, '\u0001B\u0001I$2\u0001I\u0001B')
    .replace(/(\*\*|__)(?=\S)([^\n]*?\S)\1/g, '\u0001B$2\u0001B')
    .replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, '$1\u0001I$2\u0001I')
    .replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?!\w)/g, '$1\u0001I$2\u0001I')
    .replace(/~~(?=\S)([^\n]*?\S)~~/g, '~$1~')
    .replace(/\u0001B/g, '*')
    .replace(/\u0001I/g, '_');
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => codes[Number(i)] ?? '');
}

function isTableSeparator(line: string): boolean {
  return /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(line);
}

function convertLine(line: string): string {
  const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  if (heading) return `*${convertInline(heading[1] ?? '').replace(/^\*(.*)\*$/, '$1')}*`;
  if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) return '';
  if (/^\s*\|.*\|\s*$/.test(line)) {
    const cells = line.trim().replace(/^\||\|$/g, '').split('|').map((c) => convertInline(c.trim()));
    return cells.filter(Boolean).join(' — ');
  }
  const bullet = /^(\s*)[*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1] ?? ''}- ${convertInline(bullet[2] ?? '')}`;
  const quote = /^\s*>\s?(.*)$/.exec(line);
  if (quote) return `> ${convertInline(quote[1] ?? '')}`;
  return convertInline(line);
}

/**
 * Converts LLM Markdown into WhatsApp markup: `**b**`→`*b*`, `*i*`/`_i_`→`_i_`, `~~s~~`→`~s~`,
 * headings → bold lines, `[t](u)` → `t (u)`, tables flattened, `*`/`+` bullets → `-`.
 * Code spans and fences are kept verbatim (WhatsApp renders both).
 */
export function markdownToWhatsApp(markdown: string): string {
  const out: string[] = [];
  let last = 0;
  for (const m of markdown.matchAll(FENCE)) {
    out.push(convertProse(markdown.slice(last, m.index)));
    out.push(m[0].replace(/^```[\w+-]*\n/, '```\n'));
    last = (m.index ?? 0) + m[0].length;
  }
  out.push(convertProse(markdown.slice(last)));
  return out.join('').replace(/\n{3,}/g, '\n\n').trim();
}

function convertProse(text: string): string {
  return text
    .split('\n')
    .filter((line) => !isTableSeparator(line))
    .map(convertLine)
    .join('\n');
}

/** Splits a code fence that is larger than `max` into fences of its lines. */
function splitFence(block: string, max: number): string[] {
  const inner = block.replace(/^```\n?/, '').replace(/\n?```$/, '');
  const budget = max - 8;
  return packBlocks(inner.split('\n'), budget, utf16Length, '\n').map((c) => '```\n' + c + '\n```');
}

/**
 * Splits WhatsApp text into parts of at most `max` UTF-16 units on paragraph → line → sentence →
 * word boundaries, never inside a code fence (a fence larger than a part is re-fenced per part).
 */
export function splitForWhatsApp(text: string, max = WHATSAPP_TEXT_LIMIT): string[] {
  const blocks: string[] = [];
  let last = 0;
  for (const m of text.matchAll(FENCE)) {
    blocks.push(...text.slice(last, m.index).split(/\n{2,}/));
    blocks.push(m[0]);
    last = (m.index ?? 0) + m[0].length;
  }
  blocks.push(...text.slice(last).split(/\n{2,}/));
  const clean = blocks.map((b) => b.replace(/^\n+|\n+$/g, '')).filter((b) => b.trim().length > 0);
  return packBlocks(clean, max, utf16Length, '\n\n', (b) => (b.startsWith('```') ? splitFence(b, max) : splitText(b, max, utf16Length)));
}
