/// <reference types="jest" />
import { InboundEvent, type ConversationRef, type InboundAdapter, type OutboundAdapter, type OutboundPart, type Reply, type SendContext, type WebhookRequest } from '@switchboard/core';

/** One delivery the provider would make: the request as the ingress sees it. */
export interface ConformanceDelivery {
  name: string;
  request: WebhookRequest;
}

/** A running outbound adapter against the channel's fake provider. */
export interface ConformanceOutbound {
  adapter: OutboundAdapter;
  /** A conversation the fake knows. */
  ref: ConversationRef;
  /** Messages the customer sees in `ref`'s chat, as the fake recorded them. */
  seenByCustomer(): number;
  close(): Promise<void>;
}

/**
 * What {@link describeChannel} needs from a channel: its inbound adapter with real-shaped signed
 * deliveries, and a way to start its outbound adapter against the fake provider on loopback.
 */
export interface ChannelConformanceSpec<P> {
  inbound: InboundAdapter<P>;
  /** Correctly authenticated deliveries (fixtures and more): each must verify. */
  deliveries: ConformanceDelivery[];
  /** The same delivery with its authentication broken in every way the channel can be (wrong secret, missing header…). */
  forged(delivery: ConformanceDelivery): ConformanceDelivery[];
  /** false for channels whose authentication does not cover the body (Telegram's secret header); default true. */
  signsBody?: boolean;
  /** Re-authenticates a (mutated) body so parse can be fuzzed past verify. */
  sign(rawBody: Buffer, like: ConformanceDelivery): WebhookRequest;
  outbound?: {
    start(): Promise<ConformanceOutbound>;
    /** Longest text part the provider takes (characters). */
    textLimit: number;
    /** Most parts one reply may become. */
    maxParts: number;
    /** The text the customer reads of a part (default: its text or caption as rendered). */
    displayed?(part: OutboundPart): string;
    /**
     * How a resend of a part that already went out is kept from reaching the customer twice:
     * `provider` = the provider deduplicates (same ids → one message); `reconcile` = `reconcile.find`
     * finds the sent message; `status` = the provider's delivery status acknowledges it (`reconcile.waitMs`);
     * `{ unverifiable }` = the provider offers neither (the reason is stated; the suite checks one send only).
     */
    resend: 'provider' | 'reconcile' | 'status' | { unverifiable: string };
  };
}

/** Replies that exercise render: short, long, Markdown, options, unicode. */
const REPLIES: Reply[] = [
  { text: 'Hello! How can I help?' },
  { text: '**Bold** and _italic_ with a [link](https://example.com/a_b) and `code`; 5 * 3 = 15 (really!) #1 > 0.' },
  { text: `${'A long answer line. '.repeat(400)}\n\n${'第二段中文内容，'.repeat(300)}` },
  { text: 'Pick one:', options: [{ id: 'a', title: 'Track my order' }, { id: 'b', title: 'Talk to a human' }, { id: 'c', title: 'Returns' }] },
  { text: '🙂 emoji, RTL שלום, combining é, and a very long word ' + 'x'.repeat(5000) },
];

/** Deterministic mutations of a JSON value: every key dropped, every value replaced by hostile types. */
function mutations(value: unknown, limit = 400): unknown[] {
  const out: unknown[] = [];
  const hostile: unknown[] = [null, 0, -1, '', 'x'.repeat(10_000), [], {}, true, 1e308, '\u0000'];
  const walk = (node: unknown, replace: (v: unknown) => unknown) => {
    if (out.length >= limit) return;
    if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, (v) => replace(node.map((c, j) => (j === i ? v : c)))));
      out.push(replace([]));
      return;
    }
    if (node && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        const rest = { ...(node as Record<string, unknown>) };
        delete rest[key];
        out.push(replace(rest));
        for (const h of hostile) out.push(replace({ ...(node as Record<string, unknown>), [key]: h }));
        walk((node as Record<string, unknown>)[key], (v) => replace({ ...(node as Record<string, unknown>), [key]: v }));
      }
    }
  };
  walk(value, (v) => v);
  return out.slice(0, limit);
}

const partText = (p: OutboundPart): string => (p.kind === 'text' || p.kind === 'options' ? p.text : p.kind === 'media' ? (p.media.caption ?? '') : '');

/**
 * The conformance suite every channel runs (as BullMQ runs one suite over its adapters): verify
 * accepts good and refuses bad deliveries without throwing, parse is total over fixtures and their
 * mutations, render is deterministic and within the provider's limits, and a resent part never
 * reaches the customer twice. Call it at the top level of a test file.
 */
export function describeChannel<P>(name: string, spec: () => ChannelConformanceSpec<P> | Promise<ChannelConformanceSpec<P>>): void {
  describe(`channel conformance: ${name}`, () => {
    let s: ChannelConformanceSpec<P>;
    beforeAll(async () => {
      s = await spec();
    });

    it('verify accepts every authentic delivery', () => {
      expect(s.deliveries.length).toBeGreaterThan(0);
      for (const d of s.deliveries) {
        const r = s.inbound.verify(d.request);
        if (!r.ok) throw new Error(`${d.name}: refused (${r.status} ${r.reason})`);
      }
    });

    it('verify refuses every forged delivery with 401/403, never throws', () => {
      for (const d of s.deliveries) {
        const forged = s.forged(d);
        expect(forged.length).toBeGreaterThan(0);
        for (const f of forged) {
          const r = s.inbound.verify(f.request);
          if (r.ok) throw new Error(`${f.name}: a forged delivery was accepted`);
          expect([401, 403]).toContain(r.status);
        }
        // a flipped byte in the body breaks the authentication of any channel that signs the body
        const flipped = Buffer.from(d.request.rawBody);
        const at = Math.floor(flipped.length / 2);
        flipped[at] = (flipped[at] ?? 0) ^ 0x01;
        const r = s.inbound.verify({ ...d.request, rawBody: flipped });
        if (s.signsBody !== false && r.ok) throw new Error(`${d.name}: a body changed after signing was accepted`);
        if (r.ok) expect(s.inbound.parse(r.payload, { receivedAt: d.request.now })).toEqual(expect.any(Array));
      }
    });

    it('malformed bodies are refused with 400, never thrown', () => {
      const like = s.deliveries[0]!;
      for (const raw of ['', 'null', '{', '[]', '{"a":'.repeat(2000), '\u0000\u0001', 'x'.repeat(2048)]) {
        const r = s.inbound.verify(s.sign(Buffer.from(raw), like));
        if (r.ok) expect(s.inbound.parse(r.payload, { receivedAt: like.request.now })).toEqual(expect.any(Array));
        else expect([400, 401, 403, 413]).toContain(r.status);
      }
    });

    it('parse is total: every delivery and hundreds of mutations give events, never an exception', () => {
      for (const d of s.deliveries) {
        const r = s.inbound.verify(d.request);
        if (!r.ok) continue;
        const events = s.inbound.parse(r.payload, { receivedAt: d.request.now });
        expect(Array.isArray(events)).toBe(true);
        for (const e of events) checkEvent(e, s.inbound.channel);
        let json: unknown;
        try {
          json = JSON.parse(r.payload === undefined ? 'null' : JSON.stringify(r.payload));
        } catch {
          continue;
        }
        for (const m of mutations(json)) {
          let out: InboundEvent[];
          try {
            out = s.inbound.parse(m as P, { receivedAt: d.request.now });
          } catch (err) {
            throw new Error(`${d.name}: parse threw on ${JSON.stringify(m).slice(0, 300)}: ${err instanceof Error ? err.message : String(err)}`);
          }
          for (const e of out) checkEvent(e, s.inbound.channel);
        }
      }
    });

    it('render is deterministic and within the provider limits', async () => {
      if (!s.outbound) return;
      const o = await s.outbound.start();
      try {
        for (const reply of REPLIES) {
          const a = o.adapter.render(reply, o.ref);
          expect(o.adapter.render(reply, o.ref)).toEqual(a);
          expect(a.length).toBeGreaterThan(0);
          expect(a.length).toBeLessThanOrEqual(s.outbound.maxParts);
          const shown = s.outbound.displayed ?? partText;
          for (const p of a) expect(shown(p).length).toBeLessThanOrEqual(s.outbound.textLimit);
        }
      } finally {
        await o.close();
      }
    });

    it('a part sent twice (a retry after a lost answer) reaches the customer once', async () => {
      if (!s.outbound) return;
      const o = await s.outbound.start();
      try {
        const [part] = o.adapter.render({ text: 'Your order #1042 ships today.' }, o.ref);
        const ctx: SendContext = { outboundId: `conf-${Date.now()}`, partIndex: 0, partCount: 1 };
        const before = o.seenByCustomer();
        const first = await o.adapter.sendPart(o.ref, part!, ctx);
        if (s.outbound.resend === 'provider') {
          await o.adapter.sendPart(o.ref, part!, ctx);
        } else if (s.outbound.resend === 'reconcile') {
          const found = await o.adapter.reconcile!.find!(o.ref, part!, { ...ctx, attemptAt: Date.now() - 60_000 });
          expect(found).toContain(first.providerMessageId);
        } else if (s.outbound.resend === 'status') {
          expect(o.adapter.reconcile?.waitMs ?? 0).toBeGreaterThan(0);
        }
        expect(o.seenByCustomer() - before).toBe(1);
      } finally {
        await o.close();
      }
    });
  });
}

function checkEvent(e: InboundEvent, channel: string): void {
  const valid = InboundEvent.safeParse(e);
  if (!valid.success) throw new Error(`parse produced an event outside the contract: ${valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  expect(e.eventId.length).toBeGreaterThan(0);
  if ('channel' in e && typeof e.channel === 'string') expect(e.channel).toBe(channel);
  if ('conversation' in e && e.conversation) expect(e.conversation.channel).toBe(channel);
}
