import type { ConversationRef } from '@switchboard/core';
import { resumeDueConversations } from '@switchboard/queue';
import { agentFor } from './channels.js';
import type { WorkerDeps } from './deps.js';
import { enqueueMirror } from './mirror-jobs.js';
import { ownershipEntry, record } from './recording.js';
import type { OwnershipTerm } from './schedule.js';
import { startSweep } from './sweep.js';

/** The worker's clock (tests move it). */
export function nowOf(deps: Pick<WorkerDeps, 'clock'>): number {
  return deps.clock?.() ?? Date.now();
}

/**
 * The term of a human ownership starting now: `quietMs` when the event names one (a pause's
 * minutes, a channel's quiet time after the business wrote), else the auto-resume time of the
 * conversation's agent (`handoff.autoResumeMinutes`) or the deployment (HANDOFF_AUTO_RESUME_MINUTES);
 * 0 there = no expiry.
 */
export function humanOwnershipTerm(deps: Pick<WorkerDeps, 'channels' | 'agent' | 'settings' | 'clock'>, ref: ConversationRef, quietMs?: number): OwnershipTerm {
  const now = nowOf(deps);
  if (quietMs !== undefined && Number.isFinite(quietMs) && quietMs > 0) return { ref, untilMs: now + quietMs };
  const minutes = agentFor(deps, ref).autoResumeMinutes() ?? deps.settings.handoffAutoResumeMinutes ?? 0;
  return minutes > 0 ? { ref, untilMs: now + minutes * 60_000 } : { ref };
}

/**
 * Hands every conversation whose human ownership expired back to the bot (one Lua script each,
 * which checks the owner record was not renewed), then tells the record (a `resume` event) and the
 * mirror (a private note). Safe in any number of workers: a conversation is resumed once.
 */
export async function resumeExpiredOwnership(deps: WorkerDeps): Promise<number> {
  const now = nowOf(deps);
  const resumed = await resumeDueConversations(deps.redis, deps.prefix, now);
  for (const { conversationId, record: owner } of resumed) {
    deps.log.info('conversation handed back to the bot', { conversation: conversationId, reason: 'auto_resume', ownedSince: owner.at, until: owner.until });
    const ref = owner.ref;
    if (!ref) continue;
    const id = `resume-${conversationId}-${owner.until ?? now}`;
    await record(deps, ownershipEntry(id, ref, 'bot', 'auto_resume', now));
    const minutes = Math.max(1, Math.round(((owner.until ?? now) - owner.at) / 60_000));
    await enqueueMirror(deps, ref, 'note', id, `The bot answers this conversation again: no human activity for ${minutes} minute${minutes === 1 ? '' : 's'}.`);
  }
  return resumed.length;
}

/**
 * Runs {@link resumeExpiredOwnership} every HANDOFF_RESUME_SWEEP_MS in the `inbound` role.
 * @returns stops the schedule
 */
export function startOwnershipResume(deps: WorkerDeps): () => void {
  return startSweep(deps, 'ownership resume', deps.settings.handoffResumeSweepMs ?? 15_000, () => resumeExpiredOwnership(deps));
}
