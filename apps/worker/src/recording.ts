import {
  conversationId,
  RECORD_MEDIA_TEXT_MAX_CHARS,
  type ConversationRef,
  type InboundMessage,
  type InboundStatus,
  type OutboundJob,
  type OutboundPart,
  type RecordEntry,
} from '@switchboard/core';
import { renderContent, type AgentOutput } from '@switchboard/agent';
import { estimateCostUsd, inboundRecordId, outboundRecordId, statusRecordId, turnRecordId, type ModelPrice } from '@switchboard/record';
import type { RecTurnOutcome } from '@switchboard/store';
import type { ChannelSentMessage } from '@switchboard/channel-runtime';
import type { WorkerDeps } from './deps.js';

type MessageEntry = Extract<RecordEntry, { kind: 'message' }>;
type TurnEntry = Extract<RecordEntry, { kind: 'turn' }>;

/** Media metadata of a received message (never the bytes, never the provider's download URL). */
function mediaOf(m: InboundMessage): MessageEntry['media'] {
  const c = m.content;
  if (!('media' in c)) return undefined;
  const kind = c.type === 'audio' && c.voice ? 'voice' : c.type;
  return { kind, ...(c.media.mimeType ? { mimeType: c.media.mimeType } : {}), ...(c.media.sizeBytes !== undefined ? { sizeBytes: c.media.sizeBytes } : {}), ...(c.media.filename ? { filename: c.media.filename } : {}) };
}

/**
 * What the media pipeline read out of a message's media: a voice note's transcript or a document's
 * extracted text, cut to {@link RECORD_MEDIA_TEXT_MAX_CHARS}. Image descriptions stay out (the image
 * goes to the model as an image, nothing is written down).
 */
export function mediaTextOf(m: Pick<InboundMessage, 'enrichment'>): string | undefined {
  const text = (m.enrichment?.transcript ?? m.enrichment?.text)?.trim();
  if (!text) return undefined;
  return text.length > RECORD_MEDIA_TEXT_MAX_CHARS ? `${text.slice(0, RECORD_MEDIA_TEXT_MAX_CHARS - 1)}…` : text;
}

/**
 * A received message as the record keeps it: the normalized text of its content type (the text, a
 * caption, "[voice message]", a location…), what its media said once read (transcript, document
 * text), media metadata, the provider's time. A customer's message is `in`; one a human agent or the
 * business wrote in the provider's own app is `out` by a human.
 */
export function receivedMessageEntry(m: InboundMessage): MessageEntry {
  const media = mediaOf(m);
  const mediaText = mediaTextOf(m);
  const customer = m.author === 'customer';
  return {
    kind: 'message',
    id: inboundRecordId(m.eventId),
    ref: m.conversation,
    direction: customer ? 'in' : 'out',
    author: customer ? 'customer' : 'human',
    // a business-authored message (WhatsApp Business app, coexistence) is a person's reply from outside the gateway
    ...(customer ? {} : { origin: m.author === 'business' ? 'business' : 'human' }),
    contentType: m.content.type,
    text: renderContent(m.content),
    ...(mediaText ? { mediaText } : {}),
    ...(media ? { media } : {}),
    providerMessageId: m.providerMessageId,
    at: messageTime(m),
  };
}

/**
 * When a received message was written: the provider's time, refined by the gateway's receipt when
 * that falls within the same second (WhatsApp and WeChat stamp whole seconds, so a customer's
 * quick answer would otherwise sort before the reply it answers).
 */
export function messageTime(m: Pick<InboundMessage, 'sentAt' | 'receivedAt'>): number {
  return m.receivedAt >= m.sentAt && m.receivedAt - m.sentAt < 1000 ? m.receivedAt : m.sentAt;
}

function partText(part: OutboundPart): { contentType: string; text: string; media?: MessageEntry['media'] } {
  switch (part.kind) {
    case 'text':
      return { contentType: 'text', text: part.text };
    case 'options':
      return { contentType: 'options', text: [part.text, ...part.options.map((o) => `• ${o.title}`)].join('\n') };
    case 'media':
      return {
        contentType: part.media.kind,
        text: part.media.caption ?? '',
        media: { kind: part.media.kind, ...(part.media.mimeType ? { mimeType: part.media.mimeType } : {}), ...(part.media.filename ? { filename: part.media.filename } : {}) },
      };
    case 'template':
      return { contentType: 'template', text: `[template ${part.name} (${part.language})]` };
  }
}

/**
 * One sent part of a reply: the bot's (or a human's, relayed) message as it went out, with its
 * provider id. `readableText` is the channel's plain reading of a text part's wire markup.
 */
export function sentPartEntry(data: OutboundJob, index: number, part: OutboundPart, providerMessageId: string | undefined, at: number, readableText?: (part: OutboundPart) => string): MessageEntry {
  const { contentType, text: wire, media } = partText(part);
  const readable = readableText && (part.kind === 'text' || part.kind === 'options') ? readableText(part) : undefined;
  const text = readable !== undefined && part.kind === 'options' ? [readable, ...part.options.map((o) => `• ${o.title}`)].join('\n') : (readable ?? wire);
  return {
    kind: 'message',
    id: outboundRecordId(data.outboundId, index),
    ref: data.ref,
    direction: 'out',
    // an API message is the business speaking (an integration or a person), not the AI agent
    author: data.origin === 'human' || data.origin === 'api' || data.origin === 'broadcast' ? 'human' : 'bot',
    origin: data.origin,
    contentType,
    text,
    ...(media ? { media } : {}),
    ...(providerMessageId ? { providerMessageId } : {}),
    ...(data.turnId ? { turnId: data.turnId } : {}),
    ...(data.receivedAt !== undefined ? { repliesToAt: data.receivedAt } : {}),
    at,
  };
}

/** A message a channel sent on its own, outside the outbound queue (a WeChat welcome): the bot speaking. */
export function channelSentEntry(m: ChannelSentMessage): MessageEntry {
  return {
    kind: 'message',
    id: outboundRecordId(m.sourceId, 0),
    ref: m.ref,
    direction: 'out',
    author: 'bot',
    origin: m.origin,
    contentType: 'text',
    text: m.text,
    ...(m.providerMessageId ? { providerMessageId: m.providerMessageId } : {}),
    at: m.at,
  };
}

/** A delivery status (failed ones with the provider's first error code and title). */
export function statusEntry(event: InboundStatus): RecordEntry {
  const error = event.errors[0];
  return {
    kind: 'status',
    id: statusRecordId(event.channel, event.eventId),
    channel: event.channel,
    ...(event.accountId ? { accountId: event.accountId } : {}),
    providerMessageId: event.providerMessageId,
    status: event.status,
    ...(error ? { errorCode: error.code, ...(error.title ? { errorTitle: error.title } : {}) } : {}),
    at: event.at,
  };
}

/** An ownership change: `handoff` (to a human, with why) or `resume` (back to the bot). */
export function ownershipEntry(id: string, ref: ConversationRef, owner: 'human' | 'bot', reason: string, at: number): RecordEntry {
  return { kind: 'event', id: `owner:${id}`, ref, event: owner === 'human' ? 'handoff' : 'resume', detail: { reason }, at };
}

/** Another conversation-level fact (opted out, blocked, a reply that could not be delivered…). */
export function conversationEventEntry(id: string, ref: ConversationRef, event: string, detail: Record<string, unknown>, at: number): RecordEntry {
  return { kind: 'event', id: `event:${id}`, ref, event, detail, at };
}

/** How a turn ended, for the record: handoff and silence first, then where the answer came from. */
export function turnOutcome(output: AgentOutput): RecTurnOutcome {
  if (output.handoff) return 'handoff';
  if (!output.reply) return 'silent';
  switch (output.source) {
    case 'llm':
    case 'local':
      return 'answered';
    case 'faq':
      return 'faq';
    case 'cache':
      return 'cache';
    case 'refusal':
    case 'rate_limited':
      return 'refused';
    case 'offline':
    case 'fallback':
      return 'apology';
  }
}

/** One bot turn: model, variant, latency, tokens, estimated cost, tools called, knowledge sources used, outcome. */
export function turnEntry(ref: ConversationRef, seq: number, output: AgentOutput, latencyMs: number, at: number, prices: Readonly<Record<string, ModelPrice>>): TurnEntry {
  const tokensIn = output.usage?.inputTokens ?? 0;
  const tokensOut = output.usage?.outputTokens ?? 0;
  const model = output.usage?.model;
  return {
    kind: 'turn',
    id: turnRecordId(conversationId(ref), seq),
    ref,
    outcome: turnOutcome(output),
    ...(model ? { model } : {}),
    ...(output.variant ? { variant: output.variant } : {}),
    latencyMs: Math.max(0, Math.round(latencyMs)),
    tokensIn,
    tokensOut,
    costUsd: estimateCostUsd(prices, model, tokensIn, tokensOut),
    tools: (output.toolCalls ?? []).map((t) => t.name),
    sources: output.sources ?? [],
    at,
  };
}

/** Records facts without ever failing the caller (the recorder logs and counts its own failures). */
export function record(deps: Pick<WorkerDeps, 'recorder'>, entries: RecordEntry | readonly RecordEntry[]): Promise<void> {
  return deps.recorder.enabled ? deps.recorder.record(entries) : Promise.resolve();
}
