import { ApiCallbackJob, type ApiCallbackStatus } from '@switchboard/core';
import type { DeliveryLedger } from './ledger.js';
import type { GatewayKeys } from './keys.js';
import { loadScripts } from './lua-scripts.js';
import type { Producers } from './queues.js';
import type { RedisClient } from './redis.js';

/**
 * Status callbacks of API messages (`API_CALLBACK_URL`): wherever the delivery ledger may have
 * learned something about a message sent through `POST /api/v1/messages` (its reply finished, a
 * provider status arrived), {@link noteApiMessageStatus} compares the message's status as a whole
 * with the last one claimed for a callback and, when it advanced, enqueues one callback job.
 */

/** Order of the statuses a callback reports: a status never follows one ranked at or above it. */
export const API_CALLBACK_RANK: Readonly<Record<ApiCallbackStatus, number>> = { sent: 1, delivered: 2, read: 3, failed: 4 };

/** How long the callback state of a message is kept (as long as the message's id). */
const CALLBACK_STATE_TTL_SEC = 7 * 24 * 3600;

const API_MESSAGE_ID = /^api-[A-Za-z0-9]{1,64}$/;

/** Whether an outbound id names a message sent through the HTTP API (`api-<hash>`). */
export function isApiMessageId(outboundId: string): boolean {
  return API_MESSAGE_ID.test(outboundId);
}

/** The BullMQ job id of one callback (one per message and status: re-adds are no-ops while the job is kept). */
export function apiCallbackJobId(id: string, status: ApiCallbackStatus): string {
  return `apicb-${id}-${status}`;
}

/** What {@link noteApiMessageStatus} reads and enqueues with. */
export interface ApiCallbackContext {
  readonly redis: RedisClient;
  readonly producers: Producers;
  readonly keys: GatewayKeys;
  readonly ledger: DeliveryLedger;
}

/**
 * Notices a status change of an API message and enqueues its callback. Safe to call any number of
 * times from anywhere (a retried job, a redelivered status webhook): a status that does not advance
 * past the last one claimed enqueues nothing. Statuses wait for the whole reply: before its last
 * part is sent nothing is reported (the outbound role calls again when it finishes). Returns the
 * status claimed now, if any.
 */
export async function noteApiMessageStatus(ctx: ApiCallbackContext, channel: string, outboundId: string, now = Date.now()): Promise<ApiCallbackStatus | undefined> {
  if (!isApiMessageId(outboundId)) return undefined;
  // the id names a message of the API only while the API knows it (7 days)
  if (!(await ctx.redis.exists(ctx.keys.api.message(outboundId)))) return undefined;
  if (!(await ctx.ledger.progress(outboundId)).finished) return undefined;
  const reply = await ctx.ledger.replyStatus(channel, outboundId);
  if (!reply || reply.status === 'queued') return undefined;
  const job: ApiCallbackJob = { id: outboundId, status: reply.status, at: now, ...(reply.error ? { error: reply.error.slice(0, 2000) } : {}) };
  const [claimed, ...pending] = await loadScripts(ctx.redis).sbApiCallbackClaim(ctx.keys.api.callbacks(outboundId), job.status, API_CALLBACK_RANK[job.status], JSON.stringify(job), CALLBACK_STATE_TTL_SEC);
  // every claimed, unposted callback of the message, this one included: ids make re-adds no-ops
  await Promise.all(
    pending.map((json) => {
      const p = ApiCallbackJob.parse(JSON.parse(json));
      return ctx.producers.enqueue('api-callbacks', p, { jobId: apiCallbackJobId(p.id, p.status) });
    }),
  );
  return claimed === 1 ? job.status : undefined;
}

/** A callback was posted or given up: it no longer holds back the message's later callbacks. */
export async function settleApiCallback(redis: RedisClient, keys: GatewayKeys, job: Pick<ApiCallbackJob, 'id' | 'status'>): Promise<void> {
  await redis.hdel(keys.api.callbacks(job.id), `p:${job.status}`);
}

/** Statuses of the message claimed before `status` whose callbacks are not posted or given up yet. */
export async function earlierApiCallbacksPending(redis: RedisClient, keys: GatewayKeys, job: Pick<ApiCallbackJob, 'id' | 'status'>): Promise<ApiCallbackStatus[]> {
  const fields = await redis.hkeys(keys.api.callbacks(job.id));
  const rank = API_CALLBACK_RANK[job.status];
  return fields
    .filter((f) => f.startsWith('p:'))
    .map((f) => f.slice(2) as ApiCallbackStatus)
    .filter((s) => s in API_CALLBACK_RANK && API_CALLBACK_RANK[s] < rank);
}
