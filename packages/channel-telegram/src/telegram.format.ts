import MarkdownIt from 'markdown-it';

/** Telegram's limit for a message text, counted after entity parsing. UTF-16 units are the safe reading. */
export const TELEGRAM_TEXT_LIMIT = 4096;
/** Telegram's limit for a media caption. */
export const TELEGRAM_CAPTION_LIMIT = 1024;

/** A formatting range of a text, as the Bot API's MessageEntity (offset/length in UTF-16 units). */
export interface TelegramEntity {
  type: 'bold' | 'italic' | 'strikethrough' | 'code' | 'pre' | 'text_link' | 'blockquote';
  offset: number;
  length: number;
  url?: string;
  language?: string;
}

/** Plain text plus the entities that format it. */
export interface FormattedText {
  text: string;
  entities: TelegramEntity[];
}

const md = new MarkdownIt('default', { html: false, linkify: false, typographer: false });
type Token = MarkdownIt.Token;

const SAFE_URL = /^(https?:\/\/|tg:\/\/)[^\s]+$/i;
const LANGUAGE = /^[A-Za-z0-9_+-]{1,32}$/;

/** Accumulates text and entity ranges while walking the markdown-it token stream. */
class Builder {
  text = '';
  readonly entities: TelegramEntity[] = [];
  private readonly open: Array<{ type: TelegramEntity['type']; start: number; url?: string }> = [];
  private pending = '';

  /** Requests a separator before the next written text (the largest request wins). */
  breakWith(sep: '\n' | '\n\n'): void {
    if (sep.length > this.pending.length) this.pending = sep;
  }

  /** Writes the pending separator, counting the newlines the text already ends with. */
  private flush(): void {
    if (this.pending && this.text.length > 0) {
      const have = /\n*$/.exec(this.text)![0].length;
      this.text += '\n'.repeat(Math.max(0, this.pending.length - have));
    }
    this.pending = '';
  }

  /** True when the next written character starts a line. */
  startsLine(): boolean {
    this.flush();
    return this.text.length === 0 || this.text.endsWith('\n');
  }

  write(s: string): void {
    if (!s) return;
    this.flush();
    this.text += s;
  }

  /** Starts an entity at the next written character (after any pending separator). */
  openEntity(type: TelegramEntity['type'], url?: string): void {
    this.flush();
    this.open.push({ type, start: this.text.length, ...(url ? { url } : {}) });
  }

  closeEntity(type: TelegramEntity['type']): void {
    for (let i = this.open.length - 1; i >= 0; i--) {
      const o = this.open[i]!;
      if (o.type !== type) continue;
      this.open.splice(i, 1);
      this.add({ type, offset: o.start, length: this.text.length - o.start, ...(o.url ? { url: o.url } : {}) });
      return;
    }
  }

  add(e: TelegramEntity): void {
    // entities never start or end on whitespace: keeps ranges valid after trimming and splitting
    let start = e.offset;
    let end = e.offset + e.length;
    if (e.type !== 'pre' && e.type !== 'code') {
      while (start < end && /\s/.test(this.text[start]!)) start++;
      while (end > start && /\s/.test(this.text[end - 1]!)) end--;
    }
    if (end > start) this.entities.push({ ...e, offset: start, length: end - start });
  }
}

function inline(b: Builder, tokens: Token[]): void {
  // links whose URL cannot be a text_link (mailto:, relative) are written out after their text
  const hrefs: Array<string | undefined> = [];
  for (const t of tokens) {
    switch (t.type) {
      case 'text':
      case 'text_special':
      case 'html_inline':
        b.write(t.content);
        break;
      case 'softbreak':
      case 'hardbreak':
        b.write('\n');
        break;
      case 'strong_open':
        b.openEntity('bold');
        break;
      case 'strong_close':
        b.closeEntity('bold');
        break;
      case 'em_open':
        b.openEntity('italic');
        break;
      case 'em_close':
        b.closeEntity('italic');
        break;
      case 's_open':
        b.openEntity('strikethrough');
        break;
      case 's_close':
        b.closeEntity('strikethrough');
        break;
      case 'code_inline':
        b.write(t.content);
        b.add({ type: 'code', offset: b.text.length - t.content.length, length: t.content.length });
        break;
      case 'link_open': {
        const href = String(t.attrGet('href') ?? '');
        // an autolink shows its URL, which Telegram links by itself
        if (t.markup === 'autolink') hrefs.push(undefined);
        else if (SAFE_URL.test(href)) {
          hrefs.push(undefined);
          b.openEntity('text_link', href);
        } else hrefs.push(href.replace(/^mailto:/i, ''));
        break;
      }
      case 'link_close': {
        const shown = hrefs.pop();
        if (shown === undefined) b.closeEntity('text_link');
        else if (shown && !b.text.endsWith(shown)) b.write(` (${shown})`);
        break;
      }
      case 'image': {
        const src = String(t.attrGet('src') ?? '');
        const alt = t.content || 'image';
        if (SAFE_URL.test(src)) {
          b.openEntity('text_link', src);
          b.write(alt);
          b.closeEntity('text_link');
        } else b.write(alt);
        break;
      }
      default:
        if (t.content) b.write(t.content);
    }
  }
}

/**
 * Converts the agent's Markdown into Telegram text + entities: bold, italic, strikethrough, code,
 * code blocks (with language), links, blockquotes; headings become bold lines, lists get `•` or
 * numbers, tables become one line per row. Nothing is escaped because nothing is parsed by Telegram.
 * @see https://core.telegram.org/bots/api#messageentity
 */
export function markdownToEntities(markdown: string): FormattedText {
  const b = new Builder();
  const lists: Array<{ ordered: boolean; next: number }> = [];
  const quotes: boolean[] = [];
  let row: string[] | undefined;
  let headerRow = false;
  const tokens = md.parse(markdown, {});
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    switch (t.type) {
      case 'heading_open':
        b.breakWith('\n\n');
        b.openEntity('bold');
        break;
      case 'heading_close':
        b.closeEntity('bold');
        b.breakWith('\n\n');
        break;
      case 'paragraph_open':
        if (!t.hidden) b.breakWith(lists.length > 0 ? '\n' : '\n\n');
        break;
      case 'paragraph_close':
        b.breakWith(lists.length > 0 ? '\n' : '\n\n');
        break;
      case 'bullet_list_open':
      case 'ordered_list_open':
        b.breakWith(lists.length > 0 ? '\n' : '\n\n');
        lists.push({ ordered: t.type === 'ordered_list_open', next: Number(t.attrGet('start') ?? 1) || 1 });
        break;
      case 'bullet_list_close':
      case 'ordered_list_close':
        lists.pop();
        b.breakWith(lists.length > 0 ? '\n' : '\n\n');
        break;
      case 'list_item_open': {
        const list = lists[lists.length - 1];
        b.breakWith('\n');
        const marker = list?.ordered ? `${list.next++}. ` : '• ';
        b.write('  '.repeat(Math.max(0, lists.length - 1)) + marker);
        break;
      }
      case 'blockquote_open':
        b.breakWith('\n\n');
        // Telegram quotes whole lines and does not nest them: only a quote that starts a line is one
        quotes.push(b.startsLine() && !quotes.includes(true));
        if (quotes[quotes.length - 1]) b.openEntity('blockquote');
        break;
      case 'blockquote_close':
        if (quotes.pop()) b.closeEntity('blockquote');
        b.breakWith('\n\n');
        break;
      case 'fence':
      case 'code_block': {
        b.breakWith(lists.length > 0 ? '\n' : '\n\n');
        const code = t.content.replace(/\n$/, '');
        if (!code) break;
        b.write(code);
        const language = t.info.trim().split(/\s+/)[0] ?? '';
        b.add({ type: 'pre', offset: b.text.length - code.length, length: code.length, ...(LANGUAGE.test(language) ? { language } : {}) });
        b.breakWith('\n\n');
        break;
      }
      case 'hr':
        b.breakWith('\n\n');
        b.write('———');
        b.breakWith('\n\n');
        break;
      case 'tr_open':
        row = [];
        break;
      case 'thead_open':
        headerRow = true;
        break;
      case 'thead_close':
        headerRow = false;
        break;
      case 'tr_close': {
        b.breakWith('\n');
        const line = (row ?? []).filter(Boolean).join(' | ');
        if (headerRow) b.openEntity('bold');
        b.write(line);
        if (headerRow) b.closeEntity('bold');
        row = undefined;
        break;
      }
      case 'table_close':
        b.breakWith('\n\n');
        break;
      case 'inline':
        if (row) {
          // table cells: collected as plain text, one line per row
          row.push((t.children ?? []).map((c) => (c.type === 'softbreak' ? ' ' : c.content)).join('').trim());
        } else inline(b, t.children ?? []);
        break;
      case 'html_block':
        b.breakWith('\n\n');
        b.write(t.content.replace(/\n+$/, ''));
        break;
      default:
        break;
    }
  }
  const text = b.text.replace(/\s+$/, '');
  const entities = b.entities
    .map((e) => ({ ...e, length: Math.min(e.length, text.length - e.offset) }))
    .filter((e) => e.length > 0 && (e.type !== 'text_link' || e.url));
  return { text, entities: sortEntities(entities) };
}

/** Outer entities first at the same offset: the order Telegram reports and the serializer needs. */
function sortEntities(entities: TelegramEntity[]): TelegramEntity[] {
  return [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

/** Where to cut `text` so that the part before is at most `max` units: paragraph → line → sentence → word → hard. */
function cutPoint(text: string, start: number, max: number): number {
  const limit = start + max;
  if (text.length <= limit) return text.length;
  const floor = start + Math.floor(max / 3);
  for (const sep of ['\n\n', '\n', '. ', ' ']) {
    // the part ends before the separator (after the dot of '. '), so it may start right at the limit
    const at = text.lastIndexOf(sep, sep === '. ' ? limit - 1 : limit);
    if (at >= floor) return at + (sep === '. ' ? 1 : 0);
  }
  return isHighSurrogate(text.charCodeAt(limit - 1)) ? limit - 1 : limit;
}

/**
 * Splits formatted text into parts of at most `max` UTF-16 units, on paragraph, line, sentence or
 * word boundaries; entities crossing a cut are split into one entity per part.
 */
export function splitFormatted(input: FormattedText, max = TELEGRAM_TEXT_LIMIT): FormattedText[] {
  const { text } = input;
  const parts: FormattedText[] = [];
  let start = 0;
  while (start < text.length) {
    while (start < text.length && /\s/.test(text[start]!)) start++;
    if (start >= text.length) break;
    let end = cutPoint(text, start, max);
    const next = end;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    const entities: TelegramEntity[] = [];
    for (const e of input.entities) {
      const s = Math.max(e.offset, start);
      const f = Math.min(e.offset + e.length, end);
      if (f > s) entities.push({ ...e, offset: s - start, length: f - s });
    }
    parts.push({ text: text.slice(start, end), entities });
    start = next;
  }
  return parts;
}

// ---- MarkdownV2 -------------------------------------------------------------------------------

const RESERVED = /[_*[\]()~`>#+\-=|{}.!\\]/g;
const MARKUP: Record<Exclude<TelegramEntity['type'], 'pre' | 'text_link' | 'blockquote'>, string> = { bold: '*', italic: '_', strikethrough: '~', code: '`' };

/** Escapes text for MarkdownV2 outside entities: every reserved character gets a backslash. */
export function escapeMarkdownV2(s: string): string {
  return s.replace(RESERVED, (c) => `\\${c}`);
}

/**
 * Serializes text + entities as MarkdownV2 (for `parse_mode: MarkdownV2`): escaping follows the
 * Bot API's rules per context — everything reserved outside code, only `` ` `` and `\` inside
 * code and pre, `)` and `\` inside a link URL. Entities must nest (as {@link markdownToEntities} makes them).
 * @see https://core.telegram.org/bots/api#markdownv2-style
 */
export function toMarkdownV2(input: FormattedText): string {
  const { text } = input;
  const entities = sortEntities(input.entities);
  const opens = new Map<number, TelegramEntity[]>();
  const closes = new Map<number, TelegramEntity[]>();
  for (const e of entities) {
    (opens.get(e.offset) ?? opens.set(e.offset, []).get(e.offset)!).push(e);
    const end = e.offset + e.length;
    (closes.get(end) ?? closes.set(end, []).get(end)!).unshift(e);
  }
  let out = '';
  const active: TelegramEntity[] = [];
  let lastMarkupEnd = -1;
  const markup = (s: string) => {
    // "__" would read as underline: an empty bold entity separates two italic markers (Bot API docs)
    if (s.startsWith('_') && lastMarkupEnd === out.length && out.endsWith('_')) out += '**';
    out += s;
    lastMarkupEnd = out.length;
  };
  for (let p = 0; p <= text.length; p++) {
    for (const e of closes.get(p) ?? []) {
      active.splice(active.lastIndexOf(e), 1);
      if (e.type === 'pre') markup('\n```');
      else if (e.type === 'text_link') markup(`](${(e.url ?? '').replace(/[)\\]/g, (c) => `\\${c}`)})`);
      else if (e.type !== 'blockquote') markup(MARKUP[e.type]);
    }
    if (p === text.length) break;
    if (p > 0 && text[p - 1] === '\n' && active.some((e) => e.type === 'blockquote')) markup('>');
    for (const e of opens.get(p) ?? []) {
      active.push(e);
      if (e.type === 'pre') markup(`\`\`\`${e.language ?? ''}\n`);
      else if (e.type === 'text_link') markup('[');
      else if (e.type === 'blockquote') markup('>');
      else markup(MARKUP[e.type]);
    }
    const c = text[p]!;
    const inCode = active.some((e) => e.type === 'pre' || e.type === 'code');
    out += inCode ? (c === '`' || c === '\\' ? `\\${c}` : c) : escapeMarkdownV2(c);
  }
  return out;
}

/** Reads MarkdownV2 back to its plain text (for the plain-text fallback when Telegram refuses the markup). */
export function markdownV2ToPlain(s: string): string {
  let out = '';
  let inPre = false;
  let inCode = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      out += s[++i];
      continue;
    }
    if (c === '`' && !inPre && !s.startsWith('```', i)) {
      inCode = !inCode;
      continue;
    }
    if (inCode) {
      out += c;
      continue;
    }
    if (c === '`' && s.startsWith('```', i)) {
      const close = inPre;
      inPre = !inPre;
      i += 2;
      if (!close) while (i + 1 < s.length && s[i + 1] !== '\n') i++;
      if (!close) i++;
      else if (out.endsWith('\n')) out = out.slice(0, -1);
      continue;
    }
    if (inPre) {
      out += c;
      continue;
    }
    if (c === ']' && s[i + 1] === '(') {
      const end = s.indexOf(')', i);
      let j = i + 2;
      while (j < s.length && s[j] !== ')') j += s[j] === '\\' ? 2 : 1;
      i = end < 0 ? i : j;
      continue;
    }
    if (c === '>' && (i === 0 || s[i - 1] === '\n')) continue;
    if ('*_~`[|'.includes(c)) continue;
    out += c;
  }
  return out;
}
