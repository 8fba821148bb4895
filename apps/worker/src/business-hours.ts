import { jobId, type ConversationRef, type HandoffReason, type InboundMessage, type RecordEntry } from '@switchboard/core';
import { turnLanguage } from '@switchboard/agent';
import { enqueueReply } from '@switchboard/queue';
import { adapterFor, agentFor } from './channels.js';
import type { WorkerDeps } from './deps.js';
import { humanOwnershipTerm, nowOf } from './handoff-expiry.js';
import { enqueueMirror } from './mirror-jobs.js';
import { ownershipEntry } from './recording.js';
import { setOwner } from './schedule.js';

/** What business hours made of a turn: inside them, told when people are back, or handed to the people's queue. */
export type HoursOutcome = 'open' | 'noticed' | 'queued';

const DAY_SEC = 24 * 3600;

/**
 * Applies the agent's `businessHours` to a turn before the agent runs. Outside them the customer
 * gets the notice naming the next opening once per conversation and closed period (claimed per
 * next opening); with `outside: queue` the conversation is handed to people with reason
 * `outside_hours` (the turn stops there), with `notice` the bot answers as usual after it.
 */
export async function applyBusinessHours(deps: WorkerDeps, ref: ConversationRef, convId: string, customer: InboundMessage[], facts: RecordEntry[]): Promise<HoursOutcome> {
  const now = nowOf(deps);
  const outside = agentFor(deps, ref).outsideHours(now, turnLanguage(customer));
  if (!outside) return 'open';
  const period = outside.nextOpenAt !== undefined ? String(outside.nextOpenAt) : 'none';
  const outboundId = jobId('hours', convId, period);
  const claimSec = Math.min(400 * DAY_SEC, Math.max(DAY_SEC, Math.ceil(((outside.nextOpenAt ?? now) - now) / 1000) + DAY_SEC));
  if (await deps.mailbox.claim(`hours-${convId}-${period}`, claimSec)) {
    // a notice goes out also when the conversation is (about to be) human-owned
    await enqueueReply(deps, ref, { outboundId, reply: { text: outside.notice }, origin: 'notice' });
    await enqueueMirror(deps, ref, 'outgoing', outboundId, outside.notice);
  }
  if (outside.outside === 'notice') return 'noticed';
  const reason: HandoffReason = 'outside_hours';
  const summary = outside.nextOpenAt !== undefined ? `Outside business hours; people are back at ${new Date(outside.nextOpenAt).toISOString()}.` : 'Outside business hours.';
  await setOwner(deps, convId, 'human', reason, ref.accountId, humanOwnershipTerm(deps, ref));
  facts.push(ownershipEntry(`hours-${convId}-${period}`, ref, 'human', reason, now));
  deps.metrics.handoffs.inc({ channel: ref.channel, reason });
  const adapter = adapterFor(deps, ref);
  if (adapter?.handoff && (await deps.mailbox.claim(`hours-handoff-${convId}-${period}`, claimSec))) await adapter.handoff(ref, { reason, summary });
  await enqueueMirror(deps, ref, 'handoff', `hours-handoff-${convId}-${period}`, `${reason}\n\n${summary}`, { handoff: { reason, summary } });
  return 'queued';
}
