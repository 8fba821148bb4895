import { GuardedFetcher } from '@switchboard/fetch';
import {
  ConfigurationError,
  ProviderRejectedError,
  splitText,
  type ConversationRef,
  type Logger,
  type OutboundAdapter,
  type OutboundPart,
  type Reply,
  type ReplyMedia,
  type ReplyRich,
  type SendContext,
} from '@switchboard/core';
import { ChatwootClient, chatwootStatus, type SendMessageBody } from './chatwoot.client.js';
import type { ChatwootSettings } from './chatwoot.env.js';
import { botMayAnswer } from './chatwoot.gate.js';

/** Chatwoot accepts up to 150 000 characters per message. */
export const CHATWOOT_MAX_CONTENT = 150_000;

/** Options of {@link createChatwootOutboundAdapter}. */
export interface ChatwootOutboundOptions {
  /** Client with the agent-bot token: replies, typing, status, re-checks. */
  readonly bot: ChatwootClient;
  /** Client with a user token: fallback for re-checks on installs older than 4.14.2, where bots cannot read a conversation. */
  readonly user?: ChatwootClient;
  readonly botId?: number;
  readonly log: Logger;
  /** Fetches reply media by URL (public addresses and FETCH_ALLOWED_ORIGINS only); default: a fetcher with no allowed origins. */
  readonly fetcher?: GuardedFetcher;
}

/** Chatwoot `content_attributes.items` of a rich reply. */
export function richItems(rich: ReplyRich): { content_type: 'cards' | 'form'; items: Array<Record<string, unknown>> } {
  if (rich.kind === 'cards') {
    return {
      content_type: 'cards',
      items: rich.cards.map((c) => ({
        title: c.title,
        ...(c.description ? { description: c.description } : {}),
        ...(c.mediaUrl ? { media_url: c.mediaUrl } : {}),
        actions: c.actions.map((a) => (a.type === 'link' ? { type: 'link', text: a.text, uri: a.uri } : { type: 'postback', text: a.text, payload: a.payload })),
      })),
    };
  }
  return {
    content_type: 'form',
    items: rich.fields.map((f) => ({
      name: f.name,
      type: f.type,
      label: f.label,
      ...(f.placeholder ? { placeholder: f.placeholder } : {}),
      ...(f.default ? { default: f.default } : {}),
      ...(f.required !== undefined ? { required: f.required } : {}),
      ...(f.options ? { options: f.options } : {}),
    })),
  };
}

/** Media as a Markdown link: Chatwoot renders the agent's Markdown, and a link needs no upload. */
function mediaText(media: ReplyMedia): string {
  const label = media.filename ?? media.kind;
  return [media.caption, `[${label}](${media.url})`].filter(Boolean).join('\n\n');
}

/** Chatwoot's default `MAXIMUM_FILE_UPLOAD_SIZE`. */
const ATTACHMENT_MAX_BYTES = 40 * 1024 * 1024;

/**
 * Downloads reply media to attach it (multipart), through the guarded fetcher: a reply URL is named
 * by the agent, a tool or an API caller, so it is fetched like any outside URL and never with the
 * Chatwoot tokens. Undefined when it cannot be fetched, is refused or too large: the part then goes
 * out as a Markdown link with the caption, never silently dropped.
 */
async function fetchAttachment(media: ReplyMedia, log: Logger, fetcher: GuardedFetcher): Promise<{ file: Buffer; filename: string; contentType: string } | undefined> {
  try {
    const res = await fetcher.fetchBytes(media.url, { maxBytes: ATTACHMENT_MAX_BYTES, what: 'chatwoot reply attachment' });
    if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
    const contentType = media.mimeType ?? (res.headers['content-type'] ?? 'application/octet-stream').split(';')[0]!.trim();
    const fromUrl = new URL(media.url).pathname.split('/').filter(Boolean).pop();
    return { file: res.bytes, filename: media.filename ?? fromUrl ?? media.kind, contentType };
  } catch (err: unknown) {
    log.warn('chatwoot attachment not fetched; sending a link instead', { err: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

/** The message body of one rendered part. */
export function chatwootMessageBody(part: OutboundPart): SendMessageBody {
  const base = { message_type: 'outgoing' as const, private: false };
  switch (part.kind) {
    case 'text':
      if (part.rich) {
        const { content_type, items } = richItems(part.rich);
        return { ...base, content: part.text, content_type, content_attributes: { items } };
      }
      return { ...base, content: part.text, content_type: 'text', content_attributes: {} };
    case 'options':
      return {
        ...base,
        content: part.text,
        content_type: 'input_select',
        content_attributes: { items: part.options.map((o) => ({ title: o.title, value: o.id })) },
      };
    case 'media':
      return { ...base, content: mediaText(part.media), content_type: 'text', content_attributes: {} };
    case 'template':
      // Chatwoot has no message templates; the outbound worker only renders them for WhatsApp
      throw new ProviderRejectedError('chatwoot cannot send templates', { providerCode: 'template' });
  }
}

/** The Chatwoot conversation (display id) of a `chatwoot` conversation ref. */
export function chatwootConversationId(ref: ConversationRef): number {
  const id = Number(ref.threadId);
  if (ref.channel !== 'chatwoot' || !Number.isInteger(id) || id <= 0) {
    throw new ProviderRejectedError(`not a chatwoot conversation: ${ref.channel}`, { providerCode: 'ref' });
  }
  return id;
}

/** What a part's message may look like in Chatwoot's message list (the content it was posted with). */
function expectedContents(part: OutboundPart): string[] {
  if (part.kind !== 'media') return [chatwootMessageBody(part).content];
  // sent as an attachment (caption as content) or, when the file could not be fetched, as a link
  return [part.media.caption ?? '', mediaText(part.media)];
}

/**
 * Messages that may be an unconfirmed part: outgoing, public, same content, created at or after the
 * attempt (Chatwoot's `created_at` has one-second resolution; 2 s of clock skew allowed). Newest first.
 */
async function findPosted(user: ChatwootClient, ref: ConversationRef, part: OutboundPart, attemptAt: number): Promise<string[]> {
  const contents = new Set(expectedContents(part));
  const since = Math.floor(attemptAt / 1000) - 2;
  const latest = await user.listMessages(chatwootConversationId(ref));
  return latest
    .filter((m) => (m.message_type === 1 || m.message_type === 'outgoing') && m.private !== true && contents.has(m.content ?? '') && Number(m.created_at ?? 0) >= since)
    .map((m) => String(m.id))
    .reverse();
}

/**
 * The outbound half of the Chatwoot agent bot: posts replies with the bot token (Markdown kept,
 * options as `input_select`, cards and forms natively), shows typing while a turn runs, re-checks
 * status and assignee before each part, and hands over with a private note plus `toggle_status open`.
 * @see ../../../docs/channels/chatwoot.md
 */
export function createChatwootOutboundAdapter(opts: ChatwootOutboundOptions): OutboundAdapter {
  const { bot, user, log } = opts;
  const fetcher = opts.fetcher ?? new GuardedFetcher({ timeoutMs: 30_000, maxBytes: ATTACHMENT_MAX_BYTES });
  let warnedNoShow = false;

  const typingOff = async (conversationId: number) => {
    try {
      await bot.toggleTyping(conversationId, 'off');
    } catch (err: unknown) {
      log.debug('chatwoot typing off failed', { conversationId, err: err instanceof Error ? err.message : String(err) });
    }
  };

  return {
    channel: 'chatwoot',
    // Chatwoot has no idempotency key: a part whose post may have been stored is looked up in the
    // conversation's latest messages (needs the user token; bots may not list messages)
    ...(user ? { reconcile: { waitMs: 0, find: (ref: ConversationRef, part: OutboundPart, ctx: { attemptAt: number }) => findPosted(user, ref, part, ctx.attemptAt) } } : {}),

    render(reply: Reply): OutboundPart[] {
      const parts: OutboundPart[] = [];
      const chunks = splitText(reply.text, CHATWOOT_MAX_CONTENT);
      const last = chunks.pop();
      for (const text of chunks) parts.push({ kind: 'text', text });
      if (reply.rich) parts.push({ kind: 'text', text: last ?? '', rich: reply.rich });
      else if (reply.options?.length) parts.push({ kind: 'options', text: last ?? '', options: reply.options });
      else if (last !== undefined) parts.push({ kind: 'text', text: last });
      for (const media of reply.media ?? []) parts.push({ kind: 'media', media });
      return parts;
    },

    async sendPart(ref: ConversationRef, part: OutboundPart, ctx: SendContext): Promise<{ providerMessageId?: string }> {
      const conversationId = chatwootConversationId(ref);
      const file = part.kind === 'media' ? await fetchAttachment(part.media, log, fetcher) : undefined;
      const message =
        part.kind === 'media' && file
          ? await bot.sendAttachment(conversationId, { ...(part.media.caption ? { content: part.media.caption } : {}), ...file })
          : await bot.sendMessage(conversationId, chatwootMessageBody(part));
      if (ctx.partIndex === ctx.partCount - 1) await typingOff(conversationId);
      return { providerMessageId: String(message.id) };
    },

    async turnStarted(ref: ConversationRef): Promise<void> {
      const conversationId = chatwootConversationId(ref);
      try {
        await bot.toggleTyping(conversationId, 'on');
      } catch (err: unknown) {
        // typing is cosmetic (and absent before 4.12.0); it never fails a turn
        log.debug('chatwoot typing on failed', { conversationId, err: err instanceof Error ? err.message : String(err) });
      }
    },

    async maySend(ref: ConversationRef): Promise<boolean> {
      const conversationId = chatwootConversationId(ref);
      let conv;
      try {
        conv = await bot.getConversation(conversationId);
      } catch (err: unknown) {
        // bots may read a conversation only since 4.14.2; older installs answer 401
        if (!(err instanceof ConfigurationError)) throw err;
        if (user) {
          conv = await user.getConversation(conversationId);
        } else {
          if (!warnedNoShow) log.warn('chatwoot: bot token cannot read conversations (Chatwoot < 4.14.2); set CHATWOOT_API_TOKEN for the pre-send re-check');
          warnedNoShow = true;
          return true;
        }
      }
      const gate = botMayAnswer(conv, opts.botId === undefined ? {} : { botId: opts.botId });
      if (!gate.ok) {
        log.info('chatwoot reply withheld', { conversationId, reason: gate.reason });
        await typingOff(conversationId);
      }
      return gate.ok;
    },

    async handoff(ref: ConversationRef, handoff: { reason: string; summary: string }): Promise<void> {
      const conversationId = chatwootConversationId(ref);
      await bot.sendMessage(conversationId, { content: handoffNote(handoff), message_type: 'outgoing', private: true });
      // with the bot token Chatwoot runs bot_handoff!: opens, notifies the inbox agents, runs auto-assignment
      await bot.toggleStatus(conversationId, 'open');
      await typingOff(conversationId);
    },
  };
}

/** The private note that tells agents why the bot handed over and what happened so far. */
export function handoffNote(handoff: { reason: string; summary: string }): string {
  return [`**Handed over by the AI assistant.** Reason: ${handoff.reason}`, handoff.summary ? `**Summary:** ${handoff.summary}` : ''].filter(Boolean).join('\n\n');
}

/**
 * Reports a failed delivery of a human agent's message (e.g. WhatsApp 131047 outside the 24 h window,
 * WeChat 95002) on the Chatwoot message: `PATCH` status `failed` with `external_error` (API inboxes,
 * 4.2.0+), plus a private note with the reason so it is visible without hovering. Needs a user token.
 */
export async function reportDeliveryFailure(client: ChatwootClient, chatwootMessage: { conversationId: number; messageId: number }, reason: string): Promise<void> {
  try {
    await client.updateMessageStatus(chatwootMessage.conversationId, chatwootMessage.messageId, 'failed', reason);
  } catch (err: unknown) {
    // older installs (< 4.2.0) and non-API inboxes refuse the status update; the note still tells the agent
    const status = chatwootStatus(err);
    if (status === undefined || status >= 500 || status === 429) throw err;
  }
  await client.sendMessage(chatwootMessage.conversationId, {
    content: `⚠️ This message was not delivered to the customer: ${reason}`,
    message_type: 'outgoing',
    private: true,
  });
}

/** Builds the bot and user clients from settings (either may be absent). */
export function chatwootClients(settings: ChatwootSettings): { bot?: ChatwootClient; user?: ChatwootClient } {
  if (!settings.enabled) return {};
  const common = { baseUrl: settings.baseUrl, accountId: settings.accountId, timeoutMs: settings.httpTimeoutMs };
  return {
    ...(settings.botToken ? { bot: new ChatwootClient({ ...common, token: settings.botToken, role: 'bot' }) } : {}),
    ...(settings.apiToken ? { user: new ChatwootClient({ ...common, token: settings.apiToken, role: 'user' }) } : {}),
  };
}
