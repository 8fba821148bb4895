import {
  jobId,
  shortHash,
  type ConversationRef,
  type InboundEvent,
  type InboundMessage,
  type MessageContent,
} from '@switchboard/core';
import { botMayAnswer, conversationOwnership, decideMessage, inboxOf, isMirrorInbox, type ChatwootGateOptions } from './chatwoot.gate.js';
import {
  WireConversationEvent,
  WireEnvelope,
  WireMessageEvent,
  WireWidgetEvent,
  type WireAttachment,
  type WireConversation,
} from './chatwoot.wire.js';

/** Options of {@link normalizeChatwootWebhook}. */
export interface ChatwootParseOptions extends ChatwootGateOptions {
  /** Account used when a payload carries none. */
  readonly accountId?: number;
  /** The gateway account receiving the webhooks (`default` when absent): named in relayed replies. */
  readonly gatewayAccountId?: string;
}

/** Per-delivery context. */
export interface ChatwootParseContext {
  readonly receivedAt: number;
  /** For mirror-inbox payloads: the WhatsApp/WeChat conversation behind it ({@link resolveMirroredRef}). */
  readonly mirroredRef?: ConversationRef;
}

/** Event names the gateway acts on; any other is acknowledged and logged. */
export const HANDLED_EVENTS = [
  'message_created',
  'message_updated',
  'conversation_status_changed',
  'conversation_updated',
  'conversation_opened',
  'conversation_resolved',
  'webwidget_triggered',
] as const;

const ID = 'cw';

/** `detail.reason` of the takeover signal raised by a human agent's public reply in a bot conversation. */
export const HUMAN_REPLIED = 'human agent replied';

function unsupported(eventId: string, providerType: string, reason: string): InboundEvent {
  return { kind: 'unsupported', eventId, channel: 'chatwoot', providerType, reason };
}

/** The conversation of a Chatwoot-native webhook: account, contact, display id. */
function nativeRef(accountId: number, conv: WireConversation, contactFallback?: number): ConversationRef | undefined {
  const contactId = conv.meta?.sender?.id ?? conv.contact_inbox?.contact_id ?? contactFallback;
  if (contactId === undefined || contactId === null) return undefined;
  const name = conv.meta?.sender?.name;
  return {
    channel: 'chatwoot',
    account: String(accountId),
    userId: String(contactId),
    threadId: String(conv.id),
    ...(name ? { displayName: name } : {}),
  };
}

function timestampMs(v: string | number | null | undefined, fallback: number): number {
  if (typeof v === 'number') return v < 1e12 ? Math.round(v * 1000) : v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  return fallback;
}

function filenameOf(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  const last = url.split('?')[0]?.split('/').pop();
  return last ? decodeURIComponent(last) : undefined;
}

/** One attachment → content. `data_url` is an ActiveStorage redirect; the media pipeline follows it. */
function attachmentContent(a: WireAttachment, caption: string | undefined): MessageContent {
  const filename = filenameOf(a.data_url);
  const media = {
    ...(a.data_url ? { url: a.data_url } : {}),
    ...(filename ? { filename } : {}),
    ...(a.content_type ? { mimeType: a.content_type } : {}),
    ...(typeof a.file_size === 'number' && a.file_size >= 0 ? { sizeBytes: Math.round(a.file_size) } : {}),
    ...(caption ? { caption } : {}),
  };
  switch (a.file_type) {
    case 'image':
      return { type: 'image', media };
    case 'audio':
      return { type: 'audio', media, voice: false };
    case 'video':
      return { type: 'video', media };
    case 'file':
      return { type: 'document', media };
    case 'location':
      if (typeof a.coordinates_lat === 'number' && typeof a.coordinates_long === 'number') {
        return { type: 'location', latitude: a.coordinates_lat, longitude: a.coordinates_long, ...(a.fallback_title ? { name: a.fallback_title } : {}) };
      }
      return { type: 'unsupported', providerType: 'location', reason: 'no coordinates' };
    default:
      return { type: 'unsupported', providerType: `attachment:${a.file_type}` };
  }
}

/** Text and attachments of a message as contents; a text with attachments becomes the first one's caption. */
function messageContents(msg: WireMessageEvent): MessageContent[] {
  const text = msg.content?.trim() ? msg.content : undefined;
  const attachments = msg.attachments ?? [];
  if (attachments.length === 0) return text ? [{ type: 'text', text }] : [];
  const contents = attachments.map((a, i) => attachmentContent(a, i === 0 ? text : undefined));
  // a caption only fits media; keep the text as its own message when the first attachment cannot carry it
  const first = contents[0];
  if (text && first && !['image', 'audio', 'video', 'document'].includes(first.type)) contents.unshift({ type: 'text', text });
  return contents;
}

/** A customer's answer to a rich message (`content_attributes.submitted_values`). */
function submittedContent(msg: WireMessageEvent): MessageContent {
  const values = msg.content_attributes?.['submitted_values'];
  const items = (Array.isArray(values) ? values : [values]).filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object');
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);
  if (msg.content_type === 'form') {
    const lines = items.map((i) => `${str(i['title']) ?? str(i['name']) ?? 'field'}: ${str(i['value']) ?? ''}`);
    return { type: 'interactive', interaction: 'submitted_values', title: lines.join('\n'), response: values };
  }
  const first = items[0] ?? {};
  const id = str(first['value']) ?? str(first['payload']);
  const title = str(first['title']) ?? id ?? '';
  return { type: 'interactive', interaction: 'submitted_values', ...(id ? { id } : {}), title, response: values };
}

function normalizeMessage(msg: WireMessageEvent, opts: ChatwootParseOptions, ctx: ChatwootParseContext): InboundEvent[] {
  const accountId = msg.account?.id ?? msg.conversation.account?.id ?? opts.accountId ?? 0;
  const decision = decideMessage(msg, opts);
  const baseId = jobId(ID, accountId, msg.id, msg.event);
  if (decision.action === 'ignore') return [unsupported(baseId, msg.event, decision.reason)];

  const sentAt = timestampMs(msg.created_at, ctx.receivedAt);
  if (decision.action === 'takeover') {
    const ref = nativeRef(accountId, msg.conversation);
    if (!ref) return [unsupported(baseId, msg.event, 'conversation without contact')];
    const takeover: InboundEvent = {
      kind: 'signal',
      eventId: jobId(ID, accountId, msg.id, 'takeover'),
      conversation: ref,
      at: sentAt,
      signal: 'human_took_over',
      detail: { source: 'chatwoot', reason: HUMAN_REPLIED, chatwootConversationId: msg.conversation.id, agentId: msg.sender?.id },
    };
    // the reply itself, for the record only (Chatwoot delivers it; the signal carries the handoff)
    return [takeover, ...messageEvents(msg, baseId, ref, sentAt, ctx, { author: 'human_agent', recordOnly: HUMAN_REPLIED })];
  }

  if (decision.action === 'relay') {
    const mirroredRef = ctx.mirroredRef;
    if (!mirroredRef) return [unsupported(baseId, msg.event, 'mirror: conversation not mapped')];
    // text, and each attachment as media by its data_url (the first carries the text as caption);
    // the relay hook decides what may be fetched and sent
    const contents = messageContents(msg);
    if (contents.length === 0) return [unsupported(baseId, msg.event, 'mirror: empty message')];
    const providerMessageId = relayedMessageId(msg.conversation.id, msg.id, opts.gatewayAccountId);
    return contents.map(
      (content, i): InboundMessage => ({
        kind: 'message',
        eventId: i === 0 ? baseId : `${baseId}-${i}`,
        providerMessageId,
        conversation: mirroredRef,
        sentAt,
        receivedAt: ctx.receivedAt,
        content,
        author: 'human_agent',
      }),
    );
  }

  const ref = nativeRef(accountId, msg.conversation, decision.action === 'answer' || decision.action === 'record' ? msg.sender?.id : undefined);
  if (!ref) return [unsupported(baseId, msg.event, 'conversation without contact')];
  const recordOnly = decision.action === 'record' ? { recordOnly: decision.reason } : {};
  if (decision.action === 'submitted' || (decision.action === 'record' && msg.event === 'message_updated')) {
    const eventId = jobId(ID, accountId, msg.id, 'submitted', shortHash(JSON.stringify(msg.content_attributes?.['submitted_values'] ?? null), 12));
    return [
      {
        kind: 'message',
        eventId,
        providerMessageId: String(msg.id),
        conversation: ref,
        sentAt: ctx.receivedAt,
        receivedAt: ctx.receivedAt,
        content: submittedContent(msg),
        replyToProviderMessageId: String(msg.id),
        author: 'customer',
        ...recordOnly,
      },
    ];
  }
  const events = messageEvents(msg, baseId, ref, sentAt, ctx, { author: 'customer', ...recordOnly });
  return events.length > 0 ? events : [unsupported(baseId, msg.event, 'empty message')];
}

/** The message events of a message webhook: one per content (text, each attachment); none when empty. */
function messageEvents(
  msg: WireMessageEvent,
  baseId: string,
  ref: ConversationRef,
  sentAt: number,
  ctx: ChatwootParseContext,
  who: { readonly author: InboundMessage['author']; readonly recordOnly?: string },
): InboundMessage[] {
  const contents = messageContents(msg);
  const replyTo = msg.content_attributes?.['in_reply_to'];
  return contents.map((content, i) => ({
    kind: 'message' as const,
    eventId: i === 0 ? baseId : `${baseId}-${i}`,
    providerMessageId: contents.length === 1 ? String(msg.id) : `${msg.id}#${i}`,
    conversation: ref,
    sentAt,
    receivedAt: ctx.receivedAt,
    content,
    ...(typeof replyTo === 'number' || typeof replyTo === 'string' ? { replyToProviderMessageId: String(replyTo) } : {}),
    author: who.author,
    ...(who.recordOnly ? { recordOnly: who.recordOnly } : {}),
  }));
}

function normalizeConversation(ev: WireConversationEvent, opts: ChatwootParseOptions, ctx: ChatwootParseContext): InboundEvent[] {
  const accountId = ev.account?.id ?? ev.account_id ?? opts.accountId ?? 0;
  // conversation_updated fires for label or attribute changes too; updated_at tells one state from the next
  const version = ev.updated_at ?? ev.last_activity_at ?? ctx.receivedAt / 1000;
  const eventId = jobId(ID, accountId, 'conv', ev.id, ev.event, String(version));
  const mirror = isMirrorInbox(ev.inbox_id, opts);
  const ref = mirror ? ctx.mirroredRef : nativeRef(accountId, ev);
  if (!ref) return [unsupported(eventId, ev.event, mirror ? 'mirror: conversation not mapped' : 'conversation without contact')];
  const signal = conversationOwnership(ev, mirror, opts);
  if (!signal) return [unsupported(eventId, ev.event, `no ownership change (${ev.status})`)];
  return [
    {
      kind: 'signal',
      eventId,
      conversation: ref,
      // the state's own time, so a late delivery (order is not guaranteed) can be recognised as stale
      at: typeof ev.updated_at === 'number' ? Math.round(ev.updated_at * 1000) : ctx.receivedAt,
      signal,
      detail: {
        source: 'chatwoot',
        event: ev.event,
        status: ev.status,
        chatwootConversationId: ev.id,
        mirror,
        ...(ev.meta?.assignee?.id !== undefined ? { assigneeId: ev.meta.assignee.id } : {}),
      },
    },
  ];
}

function normalizeWidget(ev: WireWidgetEvent, opts: ChatwootParseOptions, ctx: ChatwootParseContext): InboundEvent[] {
  const accountId = ev.account?.id ?? opts.accountId ?? 0;
  const conv = ev.current_conversation;
  const eventId = jobId(ID, accountId, 'widget', ev.source_id ?? 'none', conv?.id ?? 'none', Math.floor(ctx.receivedAt / 60_000));
  if (!conv) return [unsupported(eventId, ev.event, 'widget opened without a conversation')];
  const ref = nativeRef(accountId, conv, ev.contact?.id);
  if (!ref) return [unsupported(eventId, ev.event, 'conversation without contact')];
  const gate = botMayAnswer(conv, opts);
  if (!gate.ok) return [unsupported(eventId, ev.event, gate.reason)];
  return [
    { kind: 'signal', eventId, conversation: ref, at: ctx.receivedAt, signal: 'session_started', detail: { source: 'chatwoot', event: ev.event, eventInfo: ev.event_info ?? {} } },
  ];
}

/**
 * Normalizes one Chatwoot webhook into inbound events. Pure and total: anything not acted on
 * (unknown events, echoes, private notes, gated messages, malformed shapes) becomes an `unsupported`
 * event carrying the reason, which ingress logs and counts instead of enqueueing.
 */
export function normalizeChatwootWebhook(payload: unknown, opts: ChatwootParseOptions, ctx: ChatwootParseContext): InboundEvent[] {
  const env = WireEnvelope.safeParse(payload);
  if (!env.success) return [unsupported(jobId(ID, 'invalid', ctx.receivedAt), 'invalid', 'not a Chatwoot webhook')];
  const name = env.data.event;
  const fallbackId = jobId(ID, 'evt', name, shortHash(JSON.stringify(payload), 16));
  switch (name) {
    case 'message_created':
    case 'message_updated': {
      const msg = WireMessageEvent.safeParse(payload);
      return msg.success ? normalizeMessage(msg.data, opts, ctx) : [unsupported(fallbackId, name, 'malformed message payload')];
    }
    case 'conversation_status_changed':
    case 'conversation_updated':
    case 'conversation_opened':
    case 'conversation_resolved': {
      const ev = WireConversationEvent.safeParse(payload);
      return ev.success ? normalizeConversation(ev.data, opts, ctx) : [unsupported(fallbackId, name, 'malformed conversation payload')];
    }
    case 'webwidget_triggered': {
      const ev = WireWidgetEvent.safeParse(payload);
      return ev.success ? normalizeWidget(ev.data, opts, ctx) : [unsupported(fallbackId, name, 'malformed widget payload')];
    }
    default:
      return [unsupported(fallbackId, name, 'event not handled')];
  }
}

/** Where a webhook comes from: the mirror inbox (needs {@link resolveMirroredRef}) or not, and its conversation. */
export function webhookConversation(payload: unknown): { accountId?: number; inboxId?: number; conversationId: number; contactInboxSourceId?: string } | undefined {
  const msg = WireMessageEvent.safeParse(payload);
  if (msg.success) {
    const inboxId = inboxOf(msg.data);
    const accountId = msg.data.account?.id ?? msg.data.conversation.account?.id;
    const sourceId = msg.data.conversation.contact_inbox?.source_id;
    return { conversationId: msg.data.conversation.id, ...(inboxId !== undefined ? { inboxId } : {}), ...(accountId !== undefined ? { accountId } : {}), ...(sourceId ? { contactInboxSourceId: sourceId } : {}) };
  }
  const conv = WireConversationEvent.safeParse(payload);
  if (conv.success) {
    const accountId = conv.data.account?.id ?? conv.data.account_id ?? undefined;
    const sourceId = conv.data.contact_inbox?.source_id;
    return {
      conversationId: conv.data.id,
      ...(conv.data.inbox_id != null ? { inboxId: conv.data.inbox_id } : {}),
      ...(accountId !== undefined ? { accountId } : {}),
      ...(sourceId ? { contactInboxSourceId: sourceId } : {}),
    };
  }
  return undefined;
}

const RELAYED = /^chatwoot:(?:([a-z0-9-]{1,40}):)?(\d+):(\d+)$/;

/**
 * `providerMessageId` of a human reply relayed from the mirror inbox: carries the Chatwoot
 * conversation and message, and the gateway account of the Chatwoot instance unless `default`.
 */
export function relayedMessageId(chatwootConversationId: number, chatwootMessageId: number, gatewayAccountId?: string): string {
  const gateway = gatewayAccountId && gatewayAccountId !== 'default' ? `${gatewayAccountId}:` : '';
  return `chatwoot:${gateway}${chatwootConversationId}:${chatwootMessageId}`;
}

/**
 * The Chatwoot message behind a relayed human reply (`author: 'human_agent'`), for `OutboundJob.chatwootMessage`
 * so delivery failures can be reported back with {@link reportDeliveryFailure} by the instance it came
 * from (`accountId`, the gateway account; absent = `default`).
 */
export function relayedChatwootMessage(msg: Pick<InboundMessage, 'providerMessageId'>): { conversationId: number; messageId: number; accountId?: string } | undefined {
  const m = RELAYED.exec(msg.providerMessageId);
  if (!m) return undefined;
  return { conversationId: Number(m[2]), messageId: Number(m[3]), ...(m[1] && m[1] !== 'default' ? { accountId: m[1] } : {}) };
}
