import { conversationId, int, jobId, parsePartCorrelation, type ConversationRef, type InboundEvent, type InboundMessage } from '@switchboard/core';
import type { DeliveryLedger } from './ledger.js';
import type { Mailbox } from './mailbox.js';
import type { Producers } from './queues.js';
import type { RedisClient } from './redis.js';
import { contactNote } from './contacts.js';
import { channelEventKeys, recordChannelEvent } from './stats.js';

/** Settings shared by the processes that accept customer messages (ingress apps and workers). */
export const acceptEnv = {
  /** Wait this long after a customer's last message before answering (bursts become one turn). */
  TURN_DEBOUNCE_MS: int(1500),
  /** Messages older than this are not answered (0 = answer everything; WhatsApp replays up to 7 days). */
  INBOUND_MAX_AGE_SEC: int(0),
};

/** What {@link acceptCustomerMessage} needs. */
export interface AcceptContext {
  mailbox: Mailbox;
  producers: Producers;
  redis: RedisClient;
  prefix: string;
  debounceMs: number;
  maxMessageAgeSec: number;
}

/** Job id of a conversation's turn `seq`: deterministic, so re-adding it is a no-op. */
export function turnJobId(convId: string, seq: number): string {
  return jobId('turn', convId, seq);
}

/** Id of the reply a conversation's turn `seq` produces (its outbound job id): a retried turn reuses it. */
export function turnOutboundId(convId: string, seq: number): string {
  return jobId('out', convId, seq);
}

/** Adds the turn job `seq` (idempotent), delayed by the debounce window. */
export async function scheduleTurn(ctx: Pick<AcceptContext, 'producers' | 'debounceMs'>, convId: string, ref: ConversationRef, seq: number): Promise<void> {
  await ctx.producers.enqueue('turn', { conversationId: convId, ref, seq }, { jobId: turnJobId(convId, seq), delay: ctx.debounceMs });
}

/**
 * Accepts one customer message: claims its id (7 days) and appends it to its conversation's
 * mailbox in one atomic step, then makes sure one turn is scheduled. Ingress apps call it before
 * answering 200, so a conversation's mailbox order is the order the gateway accepted its messages in
 * (a message can no longer sit in a queue held by a crashed worker while later ones are answered);
 * the inbound consumer calls it again as the repair path, where it only re-checks the scheduling.
 */
export async function acceptCustomerMessage(ctx: AcceptContext, event: InboundMessage, now = Date.now(), convId = conversationId(event.conversation)): Promise<'queued' | 'duplicate' | 'stale'> {
  if (ctx.maxMessageAgeSec > 0 && event.sentAt < now - ctx.maxMessageAgeSec * 1000) {
    await ctx.mailbox.claim(event.eventId);
    return 'stale';
  }
  if (event.editOf) {
    // an edit of a message still waiting in the pending turn replaces it there: the turn answers the edited text once
    const replaced = await ctx.mailbox.replacePending(convId, event.editOf, event.eventId, (stored) => editedEntry(stored, event), now);
    if (replaced === 'replaced') {
      await recordChannelEvent(ctx.redis, ctx.prefix, event.conversation, 'in').catch(() => undefined);
      return 'queued';
    }
    if (replaced === 'duplicate') return 'duplicate';
  }
  // one script call: the window and the API's conversation follow every accepted customer message
  // (idempotent, newest wins), then claim + append + turn scheduling, and the inbound count when new
  const { claimed, scheduleSeq } = await ctx.mailbox.acceptCustomer(
    convId, event.eventId, JSON.stringify(event), contactNote(ctx.prefix, event), channelEventKeys(ctx.prefix, event.conversation, 'in', now), now,
  );
  // schedule even when already claimed: a retried delivery repairs a turn whose add was lost in a crash
  if (scheduleSeq > 0) await scheduleTurn(ctx, convId, event.conversation, scheduleSeq);
  return claimed ? 'queued' : 'duplicate';
}

/**
 * The pending original with the edit's content: it keeps its own ids and place in the turn, so a
 * second edit of the same message finds it again.
 */
function editedEntry(stored: string, edit: InboundMessage): string {
  const original = JSON.parse(stored) as InboundMessage;
  const next: InboundMessage = { ...original, content: edit.content, conversation: edit.conversation };
  delete next.enrichment;
  if (edit.replyToProviderMessageId) next.replyToProviderMessageId = edit.replyToProviderMessageId;
  return JSON.stringify(next);
}

/**
 * Accepts the customer messages of a delivery (each conversation's in delivery order), and returns
 * the events the inbound consumer still has to handle (statuses, signals, human messages,
 * record-only messages, unsupported). A customer message accepted here needs no `inbound` job: its claim, mailbox entry and
 * turn are durable before the caller answers 200, and a crash before that makes the provider
 * redeliver, which repairs a missing turn (see {@link acceptCustomerMessage}).
 */
export async function acceptCustomerMessages(ctx: AcceptContext, events: readonly InboundEvent[]): Promise<InboundEvent[]> {
  const rest: InboundEvent[] = [];
  // conversations in parallel, each conversation's messages one after the other (mailbox order)
  const byConversation = new Map<string, { convId: string; messages: InboundMessage[] }>();
  for (const e of events) {
    // a record-only message is never answered: the inbound consumer records it
    if (e.kind !== 'message' || e.author !== 'customer' || e.recordOnly !== undefined) {
      rest.push(e);
      continue;
    }
    const convId = conversationId(e.conversation);
    const group = byConversation.get(convId);
    if (group) group.messages.push(e);
    else byConversation.set(convId, { convId, messages: [e] });
  }
  await Promise.all(
    [...byConversation.values()].map(async ({ convId, messages }) => {
      for (const m of messages) await acceptCustomerMessage(ctx, m, Date.now(), convId);
    }),
  );
  return rest;
}

/**
 * Records the provider's acknowledgements of sent parts that a delivery carries (WhatsApp statuses
 * echo `biz_opaque_callback_data`), before the delivery is answered 200: a part whose sender died
 * before recording it is then known to be sent and is not sent again.
 */
export async function acknowledgeSentParts(ledger: DeliveryLedger, events: readonly InboundEvent[]): Promise<void> {
  const acks: Array<Promise<void>> = [];
  for (const e of events) {
    if (e.kind !== 'status') continue;
    const part = parsePartCorrelation(e.correlation);
    if (part) acks.push(ledger.partAcknowledged(part.outboundId, part.part, e.providerMessageId));
  }
  await Promise.all(acks);
}
