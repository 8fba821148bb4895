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
}

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
 * job exists) and a turn job that is not the pending turn ends as `stale`.
 */
export async function repairOrphanTurns(deps: Pick<WorkerDeps, 'redis' | 'keys' | 'producers' | 'settings' | 'log'>, now = Date.now()): Promise<TurnRepairResult> {
  const prefix = deps.keys.turn('');
  const queue = deps.producers.queue('turn');
  let checked = 0;
  let readded = 0;
  for (const node of scanNodes(deps.redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      const states = await Promise.all(keys.map((key) => deps.redis.hmget(key, 'pending', 'last', 'first')));
      for (const [i, key] of keys.entries()) {
        const convId = key.slice(prefix.length);
        const [pending, last, first] = states[i] ?? [];
        if (!pending) continue;
        const since = Number(last ?? first ?? 0);
        if (now - since < GRACE_MS) continue;
        checked += 1;
        const seq = Number(pending);
        const id = turnJobId(convId, seq);
        if ((await queue.getJobState(id)) !== 'unknown') continue;
        const head = await deps.redis.lindex(deps.keys.mailbox(convId), 0);
        const parsed = head ? InboundMessage.safeParse(JSON.parse(head)) : undefined;
        if (!parsed?.success) continue;
        await scheduleTurn(deps, convId, parsed.data.conversation, seq);
        readded += 1;
        deps.log.warn('pending turn had no job; scheduled it again', { conversation: convId, seq });
      }
    } while (cursor !== '0');
  }
  return { checked, readded };
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
