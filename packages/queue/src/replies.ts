import { conversationId, outboundQueueFor, type ConversationRef, type OutboundJob } from '@switchboard/core';
import type { GatewayKeys } from './keys.js';
import { loadScripts } from './lua-scripts.js';
import type { Producers } from './queues.js';
import type { RedisClient } from './redis.js';

/** What {@link enqueueReply} needs: the gateway connection, the producers and the key registry. */
export interface ReplyContext {
  readonly redis: RedisClient;
  readonly producers: Producers;
  readonly keys: GatewayKeys;
}

/** A reply to enqueue: an outbound job without its conversation (given apart) and its place (computed). */
export type ReplyToSend = Omit<OutboundJob, 'ref' | 'after'>;

/** How long a conversation remembers its newest reply, and a reply its place (same as the outbound progress). */
const ORDER_TTL_SEC = 7 * 24 * 3600;

/**
 * The one way a reply reaches an outbound queue (agent turns, relayed human replies, notices,
 * fallbacks, the sandbox): it is placed after the conversation's newest reply in one atomic step
 * (script `replyOrder-2.lua`), so the outbound role sends it only once that one is finished and
 * replies never overtake each other, whoever produced them. Idempotent per `outboundId`: a retried
 * caller gets the same place and the same job (the job id is the outbound id).
 * @returns the job as enqueued (`after` set when it waits for another reply)
 */
export async function enqueueReply(ctx: ReplyContext, conversation: ConversationRef, reply: ReplyToSend): Promise<OutboundJob> {
  const after = await loadScripts(ctx.redis).sbReplyOrder(
    ctx.keys.lastReply(conversationId(conversation)),
    ctx.keys.outbound(reply.outboundId),
    reply.outboundId,
    ORDER_TTL_SEC,
    ORDER_TTL_SEC,
  );
  const job: OutboundJob = { ...reply, ref: conversation, ...(after ? { after } : {}) };
  await ctx.producers.enqueue(outboundQueueFor(conversation.channel), job, { jobId: reply.outboundId });
  return job;
}
