import {
  GatewayError,
  ProviderRejectedError,
  shortHash,
  type ConversationRef,
  type OutboundAdapter,
  type OutboundPart,
  type Reply,
  type ReplyMedia,
  type ReplyOption,
  type SendContext,
} from '@switchboard/core';
import type { TelegramClient, TelegramMediaField, TelegramUpload } from './telegram.client.js';
import { TelegramRefusal, UNREACHABLE } from './telegram.errors.js';
import { escapeMarkdownV2, markdownToEntities, markdownV2ToPlain, splitFormatted, toMarkdownV2, TELEGRAM_CAPTION_LIMIT, TELEGRAM_TEXT_LIMIT } from './telegram.format.js';
import { CALLBACK_ID_PREFIX, parseMessageKey, topicOf } from './telegram.parse.js';

/** Inline keyboards: Telegram allows up to 100 buttons; more options than that become numbered text. */
const BUTTONS_MAX = 100;
/** `callback_data` is 1–64 bytes. */
const CALLBACK_DATA_MAX = 64;
const BUTTON_TEXT_MAX = 64;

/** Prefix of a `callback_data` that stands for an option id longer than 64 bytes. */
export const HASHED_OPTION_PREFIX = 'h:';

const clip = (s: string, n: number) => (Array.from(s).length <= n ? s : Array.from(s).slice(0, n - 1).join('') + '…');

/**
 * Turns reply media into an upload Telegram accepts or, when the file cannot be carried, a text
 * with the link. Declared structurally so this package does not depend on the media pipeline.
 */
export interface TelegramMediaPreparerLike {
  prepare(
    account: string,
    media: ReplyMedia,
  ): Promise<
    | { kind: 'media'; sendAs: string; upload?: TelegramUpload; link?: string; caption?: string; filename?: string }
    | { kind: 'link'; text: string; reason: string }
  >;
}

/** Options of {@link createTelegramOutboundAdapter}. */
export interface TelegramOutboundOptions {
  client: TelegramClient;
  /** Downloads/converts reply media for upload; without it media are sent by URL (Telegram fetches them). */
  media?: TelegramMediaPreparerLike;
  /**
   * Called once when a send finds the customer unreachable (blocked the bot, deactivated, bot
   * removed from the group), before the non-retryable error is rethrown: mark the conversation.
   */
  onUnreachable?(ref: ConversationRef, providerCode: string): Promise<void>;
}

/** The `callback_data` of an option: its id, or a hash of it when the id is longer than 64 bytes. */
export function optionCallbackData(option: ReplyOption): string {
  return Buffer.byteLength(option.id, 'utf8') <= CALLBACK_DATA_MAX && option.id.length > 0 ? option.id : `${HASHED_OPTION_PREFIX}${shortHash(option.id, 32)}`;
}

/** An inline keyboard with one option per row. */
export function inlineKeyboard(options: readonly ReplyOption[]): { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> } {
  return { inline_keyboard: options.map((o) => [{ text: clip(o.title, BUTTON_TEXT_MAX) || o.id, callback_data: optionCallbackData(o) }]) };
}

/** The reply's Markdown as MarkdownV2 parts of at most 4096 characters each (after parsing). */
export function renderTextParts(markdown: string, max = TELEGRAM_TEXT_LIMIT): string[] {
  if (!markdown.trim()) return [];
  return splitFormatted(markdownToEntities(markdown), max).map(toMarkdownV2);
}

/**
 * Renders a reply into Telegram parts: MarkdownV2 texts split at 4096, options as an inline
 * keyboard under the last text, media after the text. Templates do not exist on Telegram: the
 * reply's text is sent.
 */
export function renderForTelegram(reply: Reply): OutboundPart[] {
  const parts: OutboundPart[] = [];
  const chunks = renderTextParts(reply.text);
  const options = reply.options ?? [];
  if (options.length > BUTTONS_MAX) {
    // more than 100 options cannot be buttons: numbered text keeps every option visible
    const list = { text: options.map((o, i) => `${i + 1}. ${o.title}`).join('\n'), entities: [] };
    chunks.push(...splitFormatted(list).map(toMarkdownV2));
  }
  if (options.length > 0 && options.length <= BUTTONS_MAX) {
    const tail = chunks.pop();
    for (const c of chunks) parts.push({ kind: 'text', text: c });
    parts.push({ kind: 'options', text: tail ?? escapeMarkdownV2('Please choose:'), options });
  } else {
    for (const c of chunks) parts.push({ kind: 'text', text: c });
  }
  for (const media of reply.media ?? []) parts.push({ kind: 'media', media });
  return parts;
}

/** The field/method a reply medium goes out with when no preparer decided it. */
function mediaField(m: ReplyMedia): TelegramMediaField {
  if (m.kind === 'image') return 'photo';
  if (m.kind === 'video') return 'video';
  if (m.kind === 'document') return 'document';
  // a voice note must be OGG/Opus; other audio is sent as a music file
  const ogg = m.mimeType ? /^audio\/ogg/i.test(m.mimeType) : /\.(ogg|oga|opus)(\?|$)/i.test(m.url);
  return ogg ? 'voice' : 'audio';
}

function fieldOf(sendAs: string, fallback: TelegramMediaField): TelegramMediaField {
  return (['photo', 'document', 'voice', 'audio', 'video'] as const).find((f) => f === sendAs) ?? fallback;
}

function captionFields(caption: string | undefined): Record<string, unknown> {
  if (!caption?.trim()) return {};
  const [first] = splitFormatted(markdownToEntities(caption), TELEGRAM_CAPTION_LIMIT);
  return first ? { caption: toMarkdownV2(first), parse_mode: 'MarkdownV2' } : {};
}

/** Where a part goes: the chat, its forum topic, and in groups a reply to the message that asked. */
function addressing(ref: ConversationRef, ctx: SendContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const topic = topicOf(ref);
  if (topic !== undefined) out.message_thread_id = topic;
  const asked = parseMessageKey(ctx.inReplyTo);
  // in a group the answer quotes the question so the asker sees it is theirs; private chats need no quote
  if (ctx.partIndex === 0 && asked && asked.chatId === ref.userId && ref.userId.startsWith('-')) {
    out.reply_parameters = { message_id: asked.messageId, allow_sending_without_reply: true };
  }
  return out;
}

const isRefusal = (err: unknown, code: string) => err instanceof ProviderRejectedError && err.providerCode === code;

/**
 * The Telegram outbound adapter. A 403 (blocked, deactivated, removed from the group) fails the
 * part without retry after `onUnreachable`; a 429 carries `retry_after` to the queue limiter; a
 * formatting refusal is retried once as plain text.
 */
export function createTelegramOutboundAdapter(opts: TelegramOutboundOptions): OutboundAdapter {
  const { client } = opts;
  async function reportUnreachable(ref: ConversationRef, err: unknown): Promise<void> {
    if (err instanceof ProviderRejectedError && UNREACHABLE.has(err.providerCode)) await opts.onUnreachable?.(ref, err.providerCode);
  }
  async function send(ref: ConversationRef, part: OutboundPart, ctx: SendContext): Promise<{ message_id: number; chat: { id: number } }> {
    const chat = ref.userId;
    const where = addressing(ref, ctx);
    switch (part.kind) {
      case 'text':
      case 'options': {
        const markup = part.kind === 'options' ? { reply_markup: inlineKeyboard(part.options) } : {};
        try {
          return await client.sendMessage(chat, part.text, { parse_mode: 'MarkdownV2', ...where, ...markup });
        } catch (err) {
          if (!isRefusal(err, TelegramRefusal.cannotParseEntities)) throw err;
          return client.sendMessage(chat, markdownV2ToPlain(part.text), { ...where, ...markup });
        }
      }
      case 'template':
        throw new ProviderRejectedError('Telegram has no message templates', { providerCode: 'template_unsupported' });
      case 'media': {
        const m = part.media;
        if (!opts.media) return client.sendMedia(chat, mediaField(m), m.url, { ...where, ...captionFields(m.caption) });
        const p = await opts.media.prepare(ref.account, m);
        if (p.kind === 'link') {
          const [text] = renderTextParts(p.text);
          return client.sendMessage(chat, text ?? escapeMarkdownV2(m.url), { parse_mode: 'MarkdownV2', ...where });
        }
        const input = p.upload ?? p.link ?? m.url;
        return client.sendMedia(chat, fieldOf(p.sendAs, mediaField(m)), input, { ...where, ...captionFields(p.caption ?? m.caption) });
      }
    }
  }
  return {
    channel: 'telegram',
    render: (reply: Reply) => renderForTelegram(reply),
    readableText: (part: OutboundPart) => (part.kind === 'text' || part.kind === 'options' ? markdownV2ToPlain(part.text) : part.kind === 'media' ? (part.media.caption ?? '') : ''),
    async sendPart(ref: ConversationRef, part: OutboundPart, ctx: SendContext) {
      try {
        const sent = await send(ref, part, ctx);
        return { providerMessageId: `${sent.chat.id}:${sent.message_id}` };
      } catch (err) {
        await reportUnreachable(ref, err);
        throw err;
      }
    },
    async turnStarted(ref: ConversationRef, lastProviderMessageId: string | undefined) {
      if (lastProviderMessageId?.startsWith(CALLBACK_ID_PREFIX)) {
        try {
          await client.answerCallbackQuery(lastProviderMessageId.slice(CALLBACK_ID_PREFIX.length));
        } catch (err) {
          // an old query cannot be answered any more; the button press itself is still handled
          if (!(err instanceof GatewayError) || !isRefusal(err, TelegramRefusal.queryTooOld)) throw err;
        }
      }
      const topic = topicOf(ref);
      try {
        await client.sendChatAction(ref.userId, 'typing', topic !== undefined ? { message_thread_id: topic } : {});
      } catch (err) {
        await reportUnreachable(ref, err);
        throw err;
      }
    },
  };
}
