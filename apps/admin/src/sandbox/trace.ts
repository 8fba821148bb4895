import { outboundQueueFor, type QueueName } from '@switchboard/core';
import { gatewayKeys, turnJobId, turnOutboundId, type Producers, type RedisClient } from '@switchboard/queue';
import type { SandboxChannel, SandboxLine } from './store.js';

/** One BullMQ job on a message's path, as the page shows it. */
export interface JobStep {
  queue: QueueName;
  jobId: string;
  /** BullMQ state, or `missing` (not created yet, or removed after its retention). */
  state: string;
  addedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  attempts: number;
  failedReason?: string;
  result?: unknown;
  /** Outbound jobs: the provider message id of the customer message the reply answers. */
  inReplyTo?: string;
}

/** The path of one customer message: webhook (accepted into its mailbox) → (sync) → turn → outbound. */
export interface MessageTrace {
  steps: JobStep[];
  /** What answered: the turn's outcome (`faq`, `offline`, `llm`, `human_owned`…). */
  source?: string;
  /** Webhook posted → reply accepted by the provider. */
  totalMs?: number;
  /** The conversation was with a human when the turn took this message: the human read it, the bot did not answer it. */
  readByHuman?: boolean;
}

const PENDING_STATES = new Set(['delayed', 'waiting', 'prioritized', 'waiting-children', 'active']);
/** Turns looked at per poll: enough for any sandbox conversation's recent history. */
const TURN_WINDOW = 30;

/** Reads one job's state and timestamps (`missing` when it does not exist). */
export async function jobStep(producers: Producers, queue: QueueName, id: string): Promise<JobStep> {
  const job = await producers.queue(queue).getJob(id);
  if (!job) return { queue, jobId: id, state: 'missing', attempts: 0 };
  const state = await job.getState();
  const step: JobStep = { queue, jobId: id, state, attempts: job.attemptsMade, addedAt: job.timestamp };
  if (job.processedOn) step.startedAt = job.processedOn;
  if (job.finishedOn) step.finishedAt = job.finishedOn;
  if (job.failedReason) step.failedReason = job.failedReason;
  if (job.returnvalue !== undefined && job.returnvalue !== null) step.result = job.returnvalue;
  const inReplyTo = (job.data as { inReplyTo?: unknown } | undefined)?.inReplyTo;
  if (typeof inReplyTo === 'string') step.inReplyTo = inReplyTo;
  return step;
}

/** The turn job id of a conversation's turn `seq` (the worker's own derivation). */
export const turnJobIdOf = turnJobId;
/** The outbound job id of an agent turn's reply (the turn role's own derivation). */
export const agentOutboundIdOf = turnOutboundId;

/**
 * Traces the customer messages of a sandbox conversation through the queues.
 *
 * Which turn answered which message: an agent reply's outbound job names the last customer message
 * of its turn (`inReplyTo`), so a message belongs to the first turn whose reply answers it or a later
 * message. Messages not covered by a reply (no reply yet, or a human owned the conversation) belong to
 * the first later turn that started after they were posted, or to the turn still pending
 * (turns of one conversation run one at a time and take every message in the mailbox).
 */
export async function traceConversation(
  producers: Producers,
  redis: RedisClient,
  prefix: string,
  channel: SandboxChannel,
  conversationId: string,
  lines: SandboxLine[],
): Promise<Record<string, MessageTrace>> {
  const customer = lines.filter((l) => l.author === 'customer' && l.trace).slice(-20);
  const out: Record<string, MessageTrace> = {};
  if (customer.length === 0 && !lines.some((l) => l.author === 'human' && l.outboundId)) return out;
  const maxSeq = Number((await redis.hget(gatewayKeys(prefix).turn(conversationId), 'seq')) ?? 0);
  const seqs: number[] = [];
  for (let s = Math.max(1, maxSeq - TURN_WINDOW + 1); s <= maxSeq; s++) seqs.push(s);
  const outQueue = outboundQueueFor(channel);
  const turns = await Promise.all(seqs.map((s) => jobStep(producers, 'turn', turnJobIdOf(conversationId, s))));
  const outs = await Promise.all(seqs.map((s) => jobStep(producers, outQueue, agentOutboundIdOf(conversationId, s))));

  // the first turn that started after a message was posted (or the one still pending), never before `floor`
  const byTiming = (j: number, floor: number): number => {
    const postedAt = customer[j]!.trace!.postedAt;
    return turns.findIndex((t, i) => {
      if (i <= floor || t.state === 'missing' || t.result === 'stale') return false;
      if (PENDING_STATES.has(t.state) && t.state !== 'active') return true;
      return (t.startedAt ?? 0) >= postedAt;
    });
  };
  // a message taken by a turn that found the conversation human-owned was read by the human, and is
  // never covered by a later bot reply (that reply answers what came after the hand back)
  const turnOf = new Map<number, number>();
  const humanRead = new Set<number>();
  customer.forEach((_, j) => {
    const idx = byTiming(j, -1);
    if (idx >= 0 && turns[idx]!.result === 'human_owned' && turns[idx]!.state === 'completed') {
      turnOf.set(j, idx);
      humanRead.add(j);
    }
  });

  // exact assignment from the replies: turn i covers the bot's messages up to the one its reply answers
  const position = new Map(customer.map((l, i) => [l.providerMessageId, i]));
  let covered = -1;
  outs.forEach((o, i) => {
    const answered = o.inReplyTo === undefined ? undefined : position.get(o.inReplyTo);
    if (answered === undefined) return;
    for (let j = covered + 1; j <= answered; j++) if (!humanRead.has(j)) turnOf.set(j, i);
    covered = Math.max(covered, answered);
  });
  // the rest by timing, never before a turn already known to belong to an earlier message
  let floor = -1;
  customer.forEach((_, j) => {
    const known = turnOf.get(j);
    if (known !== undefined) {
      if (!humanRead.has(j)) floor = known;
      return;
    }
    const idx = byTiming(j, floor);
    if (idx >= 0) turnOf.set(j, idx);
  });

  await Promise.all(
    customer.map(async (line, j) => {
      const ids = line.trace!;
      const steps: JobStep[] = [];
      if (ids.syncJobId) steps.push(await jobStep(producers, 'wechat-sync', ids.syncJobId));
      const trace: MessageTrace = { steps };
      const idx = turnOf.get(j);
      const turn = idx === undefined ? undefined : turns[idx];
      if (turn) {
        steps.push(turn);
        if (typeof turn.result === 'string') trace.source = turn.result;
        if (humanRead.has(j)) trace.readByHuman = true;
        const reply = outs[idx!];
        if (reply && reply.state !== 'missing') {
          steps.push(reply);
          if (reply.state === 'completed' && reply.finishedAt) trace.totalMs = reply.finishedAt - ids.postedAt;
        }
      }
      out[line.id] = trace;
    }),
  );
  await Promise.all(
    lines
      .filter((l) => l.author === 'human' && l.outboundId)
      .slice(-10)
      .map(async (l) => {
        out[l.id] = { steps: [await jobStep(producers, outQueue, l.outboundId!)], source: 'human' };
      }),
  );
  return out;
}
