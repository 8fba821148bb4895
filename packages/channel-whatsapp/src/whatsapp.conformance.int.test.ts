import { describeChannel, fixtureBytes, fixtureNames, signMeta, startFakeGraph, WHATSAPP_FIXTURE_SECRET, type ConformanceDelivery } from '@switchboard/testkit';
import type { WebhookRequest } from '@switchboard/core';
import { GraphClient } from './whatsapp.client.js';
import { WHATSAPP_TEXT_LIMIT } from './whatsapp.format.js';
import { createWhatsAppInboundAdapter } from './whatsapp.inbound.js';
import { createWhatsAppOutboundAdapter } from './whatsapp.outbound.js';

const request = (rawBody: Buffer, signature: string | undefined): WebhookRequest => ({
  rawBody,
  headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }) },
  query: {},
  now: Date.now(),
});
const MAX_PARTS = 5;

describeChannel('whatsapp', () => ({
  inbound: createWhatsAppInboundAdapter({ appSecret: WHATSAPP_FIXTURE_SECRET }),
  // webhook payloads only (send-error-* are Graph answers, not deliveries)
  deliveries: fixtureNames('whatsapp')
    .filter((n) => !n.startsWith('send-'))
    .map((name) => {
      const raw = fixtureBytes('whatsapp', name);
      return { name, request: request(raw, signMeta(raw, WHATSAPP_FIXTURE_SECRET)) };
    }),
  forged: (d: ConformanceDelivery) => {
    const good = signMeta(d.request.rawBody, WHATSAPP_FIXTURE_SECRET);
    return [
      { name: `${d.name} unsigned`, request: request(d.request.rawBody, undefined) },
      { name: `${d.name} signed with another app's secret`, request: request(d.request.rawBody, signMeta(d.request.rawBody, 'another_app_secret')) },
      { name: `${d.name} with a truncated signature`, request: request(d.request.rawBody, good.slice(0, -2)) },
      { name: `${d.name} with the digest alone`, request: request(d.request.rawBody, good.slice('sha256='.length)) },
      { name: `${d.name} with a sha1= signature`, request: request(d.request.rawBody, good.replace('sha256=', 'sha1=')) },
    ];
  },
  sign: (raw) => request(raw, signMeta(raw, WHATSAPP_FIXTURE_SECRET)),
  outbound: {
    async start() {
      const fake = await startFakeGraph();
      const adapter = createWhatsAppOutboundAdapter({ client: new GraphClient({ baseUrl: fake.url, accessToken: 'conformance-token' }), render: { maxParts: MAX_PARTS, shortenedNote: '(message shortened)' } });
      const to = '15551234567';
      return { adapter, ref: { channel: 'whatsapp', account: '106540352242922', userId: to, address: to }, seenByCustomer: () => fake.textsTo(to).length, close: () => fake.close() };
    },
    textLimit: WHATSAPP_TEXT_LIMIT,
    maxParts: MAX_PARTS,
    resend: 'status',
  },
}));
