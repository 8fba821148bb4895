import type { OutboundAdapter, OutboundJob, OutboundPart, SendContext } from '@switchboard/core';
import type { UnconfirmedPart } from '@switchboard/queue';
import { judgeUnconfirmedPart } from './reconcile';

/** A ledger that knows no provider message and starts the wait at the first look it is asked for. */
function ledger(firstLook: number) {
  return {
    ledger: {
      get: async () => undefined,
      reconcileStarted: async () => firstLook,
    } as unknown as Parameters<typeof judgeUnconfirmedPart>[0]['ledger'],
  };
}
const data = { outboundId: 'out-c-1', ref: { channel: 'chatwoot' } } as unknown as OutboundJob;
const part = { kind: 'text', text: 'hi' } as unknown as OutboundPart;
const ctx = { outboundId: 'out-c-1', partIndex: 0, partCount: 1 } as SendContext;
const adapter = (waitMs: number, found: string[] = []) => ({ reconcile: { waitMs, find: async () => found } }) as unknown as OutboundAdapter;

describe('judgeUnconfirmedPart', () => {
  const t0 = 1_000_000;

  it('an acknowledged or found part counts as sent at once', async () => {
    const acked: UnconfirmedPart = { index: 0, attemptAt: t0, acknowledgedAs: 'wamid.X' };
    expect(await judgeUnconfirmedPart(ledger(t0), adapter(15_000), data, part, ctx, acked, t0)).toEqual({ kind: 'sent', providerMessageId: 'wamid.X', how: 'acknowledged' });
    expect(await judgeUnconfirmedPart(ledger(t0), adapter(0, ['m1']), data, part, ctx, { index: 0, attemptAt: t0 }, t0, 5000)).toEqual({ kind: 'sent', providerMessageId: 'm1', how: 'found' });
  });

  it('the wait of a part whose request ended runs from the end of that request', async () => {
    const ended: UnconfirmedPart = { index: 0, attemptAt: t0, outcomeUnknownAt: t0 + 15_000 };
    // the retry looks 1 s after the timeout: it waits until 15 s after the end, not after its own look
    expect(await judgeUnconfirmedPart(ledger(t0 + 16_000), adapter(15_000), data, part, ctx, ended, t0 + 16_000, 5000)).toEqual({ kind: 'wait', untilMs: t0 + 17_000 });
    expect(await judgeUnconfirmedPart(ledger(t0 + 16_000), adapter(15_000), data, part, ctx, ended, t0 + 30_000, 5000)).toEqual({ kind: 'resend' });
    // a channel without a wait of its own resends at once: the request is over, nothing can still arrive
    expect(await judgeUnconfirmedPart(ledger(t0 + 16_000), adapter(0), data, part, ctx, ended, t0 + 16_000, 5000)).toEqual({ kind: 'resend' });
  });

  it('a part whose sender died or stalled mid-send waits at least the settle time from the first look, on every channel with a reconciler', async () => {
    const unknown: UnconfirmedPart = { index: 0, attemptAt: t0 };
    const look = t0 + 4000;
    expect(await judgeUnconfirmedPart(ledger(look), adapter(0), data, part, ctx, unknown, look, 5000)).toEqual({ kind: 'wait', untilMs: look + 1000 });
    expect(await judgeUnconfirmedPart(ledger(look), adapter(0), data, part, ctx, { ...unknown, reconcilingSince: look }, look + 5000, 5000)).toEqual({ kind: 'resend' });
    // the channel's own longer wait still applies
    expect(await judgeUnconfirmedPart(ledger(look), adapter(15_000), data, part, ctx, { ...unknown, reconcilingSince: look }, look + 10_000, 5000)).toEqual({ kind: 'wait', untilMs: look + 11_000 });
    // without a reconciler (WeChat: deterministic msgid) a resend is harmless and immediate
    expect(await judgeUnconfirmedPart(ledger(look), {} as OutboundAdapter, data, part, ctx, unknown, look, 5000)).toEqual({ kind: 'resend' });
  });
});
