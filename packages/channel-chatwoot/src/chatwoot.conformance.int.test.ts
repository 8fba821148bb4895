import { GuardedFetcher } from '@switchboard/fetch';
import { CHATWOOT_FIXTURE_SECRET, describeChannel, fixtureBytes, fixtureNames, signChatwoot, startFakeChatwoot, type ConformanceDelivery } from '@switchboard/testkit';
import { silentLogger, type WebhookRequest } from '@switchboard/core';
import { ChatwootClient } from './chatwoot.client.js';
import { createChatwootInboundAdapter } from './chatwoot.inbound-adapter.js';
import { createChatwootOutboundAdapter } from './chatwoot.outbound-adapter.js';

const request = (rawBody: Buffer, headers: Record<string, string>): WebhookRequest => ({ rawBody, headers: { 'content-type': 'application/json', ...headers }, query: {}, now: Date.now() });
const signed = (raw: Buffer) => request(raw, signChatwoot(raw, CHATWOOT_FIXTURE_SECRET));

describeChannel('chatwoot', () => ({
  inbound: createChatwootInboundAdapter({ secrets: [CHATWOOT_FIXTURE_SECRET], windowSec: 300, botId: 4, mirrorInboxId: 9 }),
  // webhook payloads only (request.* are what the gateway sends to Chatwoot)
  deliveries: fixtureNames('chatwoot')
    .filter((n) => !n.startsWith('request.'))
    .map((name) => ({ name, request: signed(fixtureBytes('chatwoot', name)) })),
  forged: (d: ConformanceDelivery) => {
    const raw = d.request.rawBody;
    const good = signChatwoot(raw, CHATWOOT_FIXTURE_SECRET);
    const old = Math.floor(Date.now() / 1000) - 3600;
    return [
      { name: `${d.name} unsigned`, request: request(raw, {}) },
      { name: `${d.name} signed with another secret`, request: request(raw, signChatwoot(raw, 'another-secret')) },
      { name: `${d.name} replayed an hour later`, request: request(raw, signChatwoot(raw, CHATWOOT_FIXTURE_SECRET, old)) },
      { name: `${d.name} with the signature of another timestamp`, request: request(raw, { ...good, 'x-chatwoot-timestamp': String(Number(good['x-chatwoot-timestamp']) + 1) }) },
      { name: `${d.name} without a timestamp`, request: request(raw, { 'x-chatwoot-signature': good['x-chatwoot-signature']! }) },
    ];
  },
  sign: signed,
  outbound: {
    async start() {
      const fake = await startFakeChatwoot();
      fake.addConversation({ id: 318 });
      const client = (role: 'bot' | 'user') => new ChatwootClient({ baseUrl: fake.url, accountId: 7, token: role === 'bot' ? fake.botToken : fake.userToken, role, timeoutMs: 2000 });
      const adapter = createChatwootOutboundAdapter({ bot: client('bot'), user: client('user'), botId: 4, log: silentLogger(), fetcher: new GuardedFetcher({ allowedOrigins: [], timeoutMs: 2000, maxBytes: 1 << 20 }) });
      return { adapter, ref: { channel: 'chatwoot', account: '7', userId: '4411', threadId: '318' }, seenByCustomer: () => fake.messagesIn(318).filter((m) => !m.private).length, close: () => fake.close() };
    },
    textLimit: 150_000,
    maxParts: 1,
    resend: 'reconcile',
  },
}));
