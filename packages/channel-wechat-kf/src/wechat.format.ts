import { fitParts, splitText, utf8Length, type OutboundPart, type Reply, type ReplyOption } from '@switchboard/core';

/**
 * Reply → 微信客服 wire parts. WeChat shows text as-is (no Markdown), limits a text to 2048 UTF-8
 * bytes and allows 5 messages per customer message, so an answer is converted to plain text, split
 * on sentence boundaries and, when it would need more messages than allowed, shortened.
 * @see https://developer.work.weixin.qq.com/document/path/96427
 */

/** WeCom's per-message text limit, in UTF-8 bytes. */
export const WECHAT_TEXT_MAX_BYTES = 2048;
/** `msgmenu.head_content` limit, in UTF-8 bytes. */
export const WECHAT_MENU_HEAD_MAX_BYTES = 1024;
/** `msgmenu.list` holds at most 10 items (95008 otherwise). */
export const WECHAT_MENU_MAX_ITEMS = 10;
/** Marks a shortened answer. */
export const TRUNCATION_MARK = '…';

export interface RenderOptions {
  /** Messages one reply may use (≤ 5, WeCom's allowance per customer message). */
  readonly maxParts: number;
  /** Bytes per text message; below 2048 leaves a margin. */
  readonly maxBytes: number;
}

export const DEFAULT_RENDER_OPTIONS: RenderOptions = { maxParts: 4, maxBytes: WECHAT_TEXT_MAX_BYTES };

/** Converts channel-neutral Markdown to plain text that reads well in WeChat. */
export function markdownToWechatText(md: string): string {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let inFence = false;
  for (const line of lines) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) {
      out.push(line);
      continue;
    }
    // table separator rows (|---|:---:|) carry no content
    if (/^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/.test(line) && line.includes('-') && line.includes('|')) continue;
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push('————');
      continue;
    }
    let l = line
      .replace(/^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/, '$1')
      .replace(/^(\s*)>\s?/, '$1')
      .replace(/^(\s*)[-*+]\s+\[( |x|X)\]\s+/, (_m, indent: string, done: string) => `${indent}${done.trim() ? '☑' : '☐'} `)
      .replace(/^(\s*)[-*+]\s+/, '$1• ');
    if (/^\s*\|.*\|\s*$/.test(l)) {
      l = l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()).join(' | ');
    }
    out.push(inline(l));
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

function inline(s: string): string {
  // backslash escapes are literal characters: park them where the emphasis rules cannot see them
  const escaped: string[] = [];
  const parked = s.replace(/\\([\\`*_{}[\]()#+\-.!|>~])/g, (_m, ch: string) => `\uE000${escaped.push(ch) - 1}\uE001`);
  return parked
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/!\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, (_m, alt: string, url: string) => (alt ? `${alt}: ${url}` : url))
    .replace(/\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, (_m, text: string, url: string) => (text === url ? url : `${text} (${url})`))
    .replace(/<((?:https?|mailto):[^>\s]+)>/g, '$1')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, '$2')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '$1')
    .replace(/(^|[^\w*])\*(?=\S)([^*]*?\S)\*(?!\w)/g, '$1$2')
    .replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?![\w])/g, '$1$2')
    .replace(/\uE000(\d+)\uE001/g, (_m, i: string) => escaped[Number(i)] ?? '');
}

/**
 * Splits text into at most `budget` chunks of at most `maxBytes`. When the text needs more, the
 * chunks that fit are kept and the last one is cut at a sentence (or clause, word) boundary and
 * marked with `…`, so the customer gets a coherent beginning instead of an error.
 */
export function fitText(text: string, budget: number, maxBytes: number): string[] {
  if (budget <= 0 || !text) return [];
  return fitParts(splitText(text, maxBytes, utf8Length), budget, maxBytes, utf8Length, TRUNCATION_MARK, '');
}

/** Renders a reply into ordered wire parts (text, then media, then a click menu). Deterministic. */
export function renderWechatReply(reply: Reply, opts: RenderOptions = DEFAULT_RENDER_OPTIONS): OutboundPart[] {
  const maxParts = Math.max(1, Math.min(5, opts.maxParts));
  const maxBytes = Math.min(WECHAT_TEXT_MAX_BYTES, opts.maxBytes);
  const text = markdownToWechatText(reply.text);
  const options: ReplyOption[] = (reply.options ?? []).slice(0, WECHAT_MENU_MAX_ITEMS);
  const menuSlots = options.length ? 1 : 0;
  // text first; media only in the slots left over
  const textBudget = Math.max(text ? 1 : 0, maxParts - menuSlots);
  let chunks = fitText(text, textBudget, maxBytes);
  let menuHead = '';
  if (menuSlots) {
    const last = chunks[chunks.length - 1];
    if (last !== undefined && utf8Length(last) <= WECHAT_MENU_HEAD_MAX_BYTES) {
      // the last sentence becomes the menu's heading: one message fewer
      menuHead = last;
      chunks = chunks.slice(0, -1);
    }
  }
  const parts: OutboundPart[] = chunks.map((c) => ({ kind: 'text', text: c }));
  const mediaSlots = Math.max(0, maxParts - parts.length - menuSlots);
  for (const media of (reply.media ?? []).slice(0, mediaSlots)) parts.push({ kind: 'media', media });
  if (menuSlots && parts.length < maxParts) parts.push({ kind: 'options', text: menuHead, options });
  return parts;
}
