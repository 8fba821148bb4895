import { describeChannel, fixtureBytes, fixtureNames, startFakeTelegram, TELEGRAM_FIXTURE_BOT, type ConformanceDelivery } from '@switchboard/testkit';
import type { WebhookRequest } from '@switchboard/core';
import { TelegramClient } from './telegram.client.js';
import { markdownV2ToPlain, TELEGRAM_TEXT_LIMIT } from './telegram.format.js';
import { createTelegramInboundAdapter } from './telegram.inbound.js';
import { createTelegramOutboundAdapter } from './telegram.outbound.js';

const bot = TELEGRAM_FIXTURE_BOT;
const request = (rawBody: Buffer, secret: string | undefined): WebhookRequest => ({
  rawBody,
  headers: { 'content-type': 'application/json', ...(secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
  query: {},
  now: Date.now(),
});

describeChannel('telegram', () => ({
  inbound: createTelegramInboundAdapter({ webhookSecret: bot.webhookSecret, botId: bot.id, botUsername: bot.username }),
  deliveries: fixtureNames('telegram')
    .filter((n) => n.startsWith('update.'))
    .map((name) => ({ name, request: request(fixtureBytes('telegram', name), bot.webhookSecret) })),
  forged: (d: ConformanceDelivery) => [
    { name: `${d.name} without the secret header`, request: request(d.request.rawBody, undefined) },
    { name: `${d.name} with another bot's secret`, request: request(d.request.rawBody, 'another-bots-secret-token') },
    { name: `${d.name} with a prefix of the secret`, request: request(d.request.rawBody, bot.webhookSecret.slice(0, -1)) },
    { name: `${d.name} with an empty secret`, request: request(d.request.rawBody, '') },
  ],
  // the secret header authenticates the sender, not the body
  signsBody: false,
  sign: (raw) => request(raw, bot.webhookSecret),
  outbound: {
    async start() {
      const fake = await startFakeTelegram({ token: bot.token, botUsername: bot.username });
      const chat = '5123456789';
      const adapter = createTelegramOutboundAdapter({ client: new TelegramClient({ apiUrl: fake.apiUrl, token: bot.token }) });
      return { adapter, ref: { channel: 'telegram', account: bot.id, userId: chat }, seenByCustomer: () => fake.textsTo(chat).length, close: () => fake.close() };
    },
    textLimit: TELEGRAM_TEXT_LIMIT,
    maxParts: 10,
    displayed: (p) => (p.kind === 'text' || p.kind === 'options' ? markdownV2ToPlain(p.text) : ''),
    resend: { unverifiable: 'the Bot API has no idempotency key and no way to list sent messages; a send lost after Telegram accepted it can repeat' },
  },
}));
