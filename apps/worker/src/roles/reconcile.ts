import type { OutboundAdapter, OutboundJob, OutboundPart, SendContext } from '@switchboard/core';
import type { UnconfirmedPart } from '@switchboard/queue';
import type { WorkerDeps } from '../deps.js';

/** Poll interval while a part waits for its acknowledgement. */
const ACK_POLL_MS = 1000;

/** What to do with a part whose previous send may have reached the provider. */
export type UnconfirmedVerdict =
  /** The provider has it: record it as sent, do not send it again. */
  | { readonly kind: 'sent'; readonly providerMessageId: string; readonly how: 'acknowledged' | 'found' }
  /** Not confirmed yet: look again at `untilMs`. */
  | { readonly kind: 'wait'; readonly untilMs: number }
  /** Not confirmed within the channel's wait (or the channel cannot tell): send it again. */
  | { readonly kind: 'resend' };

/**
 * Decides about a part that was handed to the provider without its outcome being recorded (the
 * worker died mid-send, the response was lost or timed out). A part acknowledged by the provider
 * (a status webhook naming it) or found at the provider (the adapter's `reconcile.find`) counts
 * as sent; otherwise the channel's wait runs from the end of the attempt's request (or, when its
 * sender died mid-send, from the first retry that found it unconfirmed), and only then is the part
 * sent again. `settleMs` (the worker lock) is the least wait for a part whose sender died or stalled
 * mid-send (no recorded end of its request), also on channels without a wait of their own.
 */
export async function judgeUnconfirmedPart(
  deps: Pick<WorkerDeps, 'ledger'>,
  adapter: OutboundAdapter,
  data: OutboundJob,
  part: OutboundPart,
  ctx: SendContext,
  unconfirmed: UnconfirmedPart,
  now = Date.now(),
  settleMs = 0,
): Promise<UnconfirmedVerdict> {
  if (unconfirmed.acknowledgedAs) return { kind: 'sent', providerMessageId: unconfirmed.acknowledgedAs, how: 'acknowledged' };
  const reconciler = adapter.reconcile;
  if (!reconciler) return { kind: 'resend' };
  if (reconciler.find) {
    const candidates = await reconciler.find(data.ref, part, { ...ctx, attemptAt: unconfirmed.attemptAt });
    for (const id of candidates) {
      // a message the ledger knows is another part or reply; an unknown one is this part
      if (!(await deps.ledger.get(data.ref.channel, id))) return { kind: 'sent', providerMessageId: id, how: 'found' };
    }
  }
  // the sender never said how its request ended: it died, or it is alive but stalled (its job lock
  // lapsed and this run replaced it) and may still send. Before a resend its silence must last the
  // settle time too (the worker lock), so a stalled sender is not overtaken any sooner than before
  // the lock was shortened; the channel's own check (find, acknowledgement) is repeated meanwhile
  const waitMs = Math.max(reconciler.waitMs, unconfirmed.outcomeUnknownAt === undefined ? settleMs : 0);
  if (waitMs <= 0) return { kind: 'resend' };
  // the wait is the provider's time to acknowledge a part it may have taken, so it runs from the
  // end of the request when the sender saw it end (timeout, lost response); when the sender died
  // mid-send that moment is unknown and the wait runs from the first retry that found the part
  const since = unconfirmed.outcomeUnknownAt ?? unconfirmed.reconcilingSince ?? (await deps.ledger.reconcileStarted(data.outboundId, unconfirmed.index, now));
  const deadline = since + waitMs;
  return now < deadline ? { kind: 'wait', untilMs: Math.min(deadline, now + ACK_POLL_MS) } : { kind: 'resend' };
}
