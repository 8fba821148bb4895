import { Cluster, type Redis } from 'ioredis';
import { InboundMessage } from '@switchboard/core';
import { turnJobId } from '@switchboard/queue';
import type { WorkerDeps } from './deps.js';
import { scheduleTurn } from './schedule.js';
import { startSweep } from './sweep.js';

/** How often one agent worker looks for pending turns without a job (ms). */
export const TURN_REPAIR_EVERY_MS = 30_000;
/** A pending turn is only looked at once its last message is this old (its job had time to be added). */
const GRACE_MS = 30_000;
const SCAN_COUNT = 500;

/** What {@link repairOrphanTurns} did. */
export interface TurnRepairResult {
  /** Pending turns looked at (past the grace time). */
  readonly checked: number;
  /** Pending turns whose job was missing and was added again. */
  readonly readded: number;
  /** Running turns whose job had failed for good or was gone, released (their messages go to the next turn). */
  readonly released: number;
}

type RepairDeps = Pick<WorkerDeps, 'redis' | 'keys' | 'producers' | 'settings' | 'log' | 'mailbox'>;

function scanNodes(redis: WorkerDeps['redis']): Redis[] {
  // a hash-tagged prefix keeps every gateway key in one slot, but scanning every master costs little
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Finds conversations whose turn is pending but whose turn job is gone
 * and schedules it again. The accept step sets `pending` and adds the job in two steps; the job add
 * can be lost after the message was already answered 200 (a process killed between
 * a failed turn's release and the next turn's add, a Redis that lost its last writes), and then
 * nothing but a later message of the same customer would schedule the turn: their messages would
 * wait unanswered. Re-adding is safe at any time: the job id is deterministic (a no-op while the
 * job exists) and a turn job that is not the pending turn ends as `stale`. Also releases a turn
 * left running by a job that failed for good or is gone (see {@link releaseDeadRun}).
 */
export async function repairOrphanTurns(deps: RepairDeps, now = Date.now()): Promise<TurnRepairResult> {
  const prefix = deps.keys.turn('');
  const queue = deps.producers.queue('turn');
  let checked = 0;
  let readded = 0;
  let released = 0;
  for (const node of scanNodes(deps.redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      const states = await Promise.all(keys.map((key) => deps.redis.hmget(key, 'pending', 'last', 'first', 'running', 'since')));
      for (const [i, key] of keys.entries()) {
        const convId = key.slice(prefix.length);
        const [pending, last, first, running, runningSince] = states[i] ?? [];
        if (running && now - Number(runningSince ?? 0) >= GRACE_MS && (await releaseDeadRun(deps, convId, Number(running)))) {
          released += 1;
          continue;
        }
        if (!pending) continue;
        const since = Number(last ?? first ?? 0);
        if (now - since < GRACE_MS) continue;
        checked += 1;
        const seq = Number(pending);
        const id = turnJobId(convId, seq);
        if ((await queue.getJobState(id)) !== 'unknown') continue;
        if (!(await scheduleFromMailbox(deps, convId, seq))) continue;
        readded += 1;
        deps.log.warn('pending turn had no job; scheduled it again', { conversation: convId, seq });
      }
    } while (cursor !== '0');
  }
  return { checked, readded, released };
}

/**
 * A turn marked running whose job failed for good (or is gone) holds its conversation until the
 * 15-minute stale-run rule and the customer's next message: the failed job's release
 * (`onFinalFailure` → abandon) is lost when its process dies right after the failure. Releases it
 * the same way and schedules the next turn (the messages stay in the mailbox for it).
 */
async function releaseDeadRun(deps: RepairDeps, convId: string, seq: number): Promise<boolean> {
  const state = await deps.producers.queue('turn').getJobState(turnJobId(convId, seq));
  if (state !== 'failed' && state !== 'unknown') return false;
  const next = await deps.mailbox.abandon(convId, seq);
  if (next < 0) return false;
  deps.log.warn('running turn had no live job; released it', { conversation: convId, seq, job: state });
  if (next > 0) await scheduleFromMailbox(deps, convId, next);
  return true;
}

/** Adds turn `seq`'s job, its conversation read from the first message in the mailbox; false when there is none. */
async function scheduleFromMailbox(deps: RepairDeps, convId: string, seq: number): Promise<boolean> {
  const head = await deps.redis.lindex(deps.keys.mailbox(convId), 0);
  const parsed = head ? InboundMessage.safeParse(JSON.parse(head)) : undefined;
  if (!parsed?.success) return false;
  await scheduleTurn(deps, convId, parsed.data.conversation, seq);
  return true;
}

/**
 * Runs {@link repairOrphanTurns} every {@link TURN_REPAIR_EVERY_MS} in the `agent` role; one agent
 * worker per period does the sweep (a short claim in Redis).
 * @returns stops the schedule
 */
export function startTurnRepair(deps: WorkerDeps, everyMs = TURN_REPAIR_EVERY_MS): () => void {
  return startSweep(deps, 'turn repair', everyMs, async () => {
    const claimed = await deps.redis.set(deps.keys.turnRepairClaim(), '1', 'PX', Math.max(1000, everyMs - 1000), 'NX');
    if (claimed) await repairOrphanTurns(deps);
  });
}
