import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, ProviderRateLimitedError, ProviderRejectedError, ProviderUnavailableError, silentLogger, type ConversationRef } from '@switchboard/core';
import { GuardedFetcher } from '@switchboard/fetch';
import { startFakeChatwoot, type FakeChatwoot } from '@switchboard/testkit';
import { ChatwootClient } from './chatwoot.client.js';
import { createChatwootOutboundAdapter, reportDeliveryFailure } from './chatwoot.outbound-adapter.js';

describe('chatwoot outbound adapter (fake Chatwoot on loopback)', () => {
  let fake: FakeChatwoot;
  let bot: ChatwootClient;
  let user: ChatwootClient;
  const ref = (id: number): ConversationRef => ({ channel: 'chatwoot', account: '7', userId: '4411', threadId: String(id) });
  const ctx = (partIndex = 0, partCount = 1) => ({ outboundId: 'out-1', partIndex, partCount });

  beforeAll(async () => {
    fake = await startFakeChatwoot();
    bot = new ChatwootClient({ baseUrl: fake.url, accountId: 7, token: fake.botToken, role: 'bot', timeoutMs: 2000 });
    user = new ChatwootClient({ baseUrl: fake.url, accountId: 7, token: fake.userToken, role: 'user', timeoutMs: 2000 });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  const adapter = (allowedOrigins: string[] = []) =>
    createChatwootOutboundAdapter({ bot, user, botId: 4, log: silentLogger(), fetcher: new GuardedFetcher({ allowedOrigins, timeoutMs: 2000, maxBytes: 1 << 20 }) });

  it('posts a Markdown reply with the bot token, typing on during the turn and off after the last part', async () => {
    fake.addConversation({ id: 318 });
    const a = adapter();
    await a.turnStarted?.(ref(318), '551207');
    const parts = a.render({ text: 'Sorry to hear that, **Jonas**! I opened a *replacement* request.' }, ref(318));
    expect(parts).toEqual([{ kind: 'text', text: 'Sorry to hear that, **Jonas**! I opened a *replacement* request.' }]);
    const sent = await a.sendPart(ref(318), parts[0]!, ctx());
    const [m] = fake.messagesIn(318);
    expect(sent.providerMessageId).toBe(String(m?.id));
    expect(m).toMatchObject({ token: 'bot', private: false, message_type: 1, content_type: 'text', content: 'Sorry to hear that, **Jonas**! I opened a *replacement* request.' });
    expect(fake.conversations.get(318)?.typing).toEqual(['on', 'off']);
  });

  it('attaches reply media as a multipart file; media that cannot be fetched goes out as a link', async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    const files = createServer((req, res) => {
      if (req.url === '/receipt.png') {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
        res.end(png);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    try {
      fake.addConversation({ id: 318 });
      // the file host is on loopback: listed as FETCH_ALLOWED_ORIGINS would list it
      const a = adapter([base]);
      const parts = a.render({ text: '', media: [{ kind: 'image', url: `${base}/receipt.png`, caption: 'Your receipt' }, { kind: 'document', url: `${base}/missing.pdf`, filename: 'invoice.pdf' }] }, ref(318));
      expect(parts.map((p) => p.kind)).toEqual(['media', 'media']);
      await a.sendPart(ref(318), parts[0]!, ctx(0, 2));
      await a.sendPart(ref(318), parts[1]!, ctx(1, 2));
      const [withFile, withLink] = fake.messagesIn(318);
      expect(withFile).toMatchObject({ token: 'bot', content: 'Your receipt', private: false });
      expect(withFile?.attachments).toHaveLength(1);
      expect(withFile?.attachments?.[0]).toMatchObject({ field: 'attachments[]', filename: 'receipt.png', contentType: 'image/png' });
      expect(withFile?.attachments?.[0]?.bytes.equals(png)).toBe(true);
      expect(withLink?.content).toContain(`(${base}/missing.pdf)`);
      expect(withLink?.attachments ?? []).toHaveLength(0);
    } finally {
      await new Promise<void>((r) => files.close(() => r()));
    }
  });

  it('reply media on a non-public address is never fetched: it goes out as a link, without the Chatwoot tokens anywhere', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const files = createServer((req, res) => {
      seen.push({ ...req.headers });
      res.writeHead(200, { 'content-type': 'image/png' }).end('x');
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', () => r()));
    const port = (files.address() as AddressInfo).port;
    try {
      fake.addConversation({ id: 319 });
      const a = adapter();
      for (const url of [`http://127.0.0.1:${port}/metrics`, `http://[::1]:${port}/x.png`, `http://2130706433:${port}/x.png`, 'http://169.254.169.254/latest/meta-data/']) {
        const [part] = a.render({ text: '', media: [{ kind: 'image', url }] }, ref(319));
        await a.sendPart(ref(319), part!, ctx());
      }
      expect(seen).toHaveLength(0);
      const posted = fake.messagesIn(319);
      expect(posted).toHaveLength(4);
      for (const m of posted) expect(m.attachments ?? []).toHaveLength(0);
    } finally {
      await new Promise<void>((r) => files.close(() => r()));
    }
  });

  it('sends options as input_select (the shape of request.send_message.input_select.json)', async () => {
    fake.addConversation({ id: 318 });
    const a = adapter();
    const options = [{ id: 'replacement', title: 'Send a replacement' }, { id: 'refund', title: 'Refund my order' }, { id: 'human', title: 'Talk to a person' }];
    const [part] = a.render({ text: 'How would you like to proceed?', options }, ref(318));
    await a.sendPart(ref(318), part!, ctx());
    const body = fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/messages'))?.body;
    expect(body).toEqual({
      content: 'How would you like to proceed?',
      message_type: 'outgoing',
      private: false,
      content_type: 'input_select',
      content_attributes: { items: [{ title: 'Send a replacement', value: 'replacement' }, { title: 'Refund my order', value: 'refund' }, { title: 'Talk to a person', value: 'human' }] },
    });
  });

  it('sends an order card and a form natively', async () => {
    fake.addConversation({ id: 318 });
    const a = adapter();
    const card = a.render(
      {
        text: 'Order #4821: shipped, 2 items, 59.90 EUR',
        rich: { kind: 'cards', cards: [{ title: 'Order #4821 — shipped', description: '2 items · 59.90 EUR', actions: [{ type: 'link', text: 'Track', uri: 'https://t.example/4821' }, { type: 'postback', text: 'Return', payload: 'return:4821' }] }] },
      },
      ref(318),
    );
    const form = a.render({ text: 'Your details please', rich: { kind: 'form', fields: [{ name: 'email', type: 'email', label: 'Email', required: true }] } }, ref(318));
    await a.sendPart(ref(318), card[0]!, ctx());
    await a.sendPart(ref(318), form[0]!, ctx());
    const [c, f] = fake.messagesIn(318);
    expect(c).toMatchObject({ content_type: 'cards', content_attributes: { items: [{ title: 'Order #4821 — shipped', description: '2 items · 59.90 EUR', actions: [{ type: 'link', text: 'Track', uri: 'https://t.example/4821' }, { type: 'postback', text: 'Return', payload: 'return:4821' }] }] } });
    expect(f).toMatchObject({ content_type: 'form', content_attributes: { items: [{ name: 'email', type: 'email', label: 'Email', required: true }] } });
  });

  it('maySend re-checks status and assignee right before posting', async () => {
    fake.addConversation({ id: 1, status: 'pending' });
    fake.addConversation({ id: 2, status: 'open' });
    fake.addConversation({ id: 3, status: 'pending', assignee: { id: 17, type: 'user' } });
    fake.addConversation({ id: 4, status: 'pending', assignee: { id: 4, type: 'agent_bot' } });
    const a = adapter();
    expect(await a.maySend?.(ref(1))).toBe(true);
    expect(await a.maySend?.(ref(2))).toBe(false);
    expect(await a.maySend?.(ref(3))).toBe(false);
    expect(await a.maySend?.(ref(4))).toBe(true);
    // the show call used the bot token
    expect(fake.requests.filter((r) => r.method === 'GET').every((r) => r.headers['api_access_token'] === fake.botToken)).toBe(true);
  });

  it('maySend falls back to the user token where bots may not read conversations (< 4.14.2)', async () => {
    fake.addConversation({ id: 5, status: 'open' });
    fake.failNext({ method: 'GET', path: '/conversations/5', status: 401, body: { error: 'Access to this endpoint is not authorized for bots' } });
    expect(await adapter().maySend?.(ref(5))).toBe(false);
  });

  it('handoff: private note with reason and summary, then toggle_status open with the bot token', async () => {
    fake.addConversation({ id: 318, status: 'pending' });
    await adapter().handoff?.(ref(318), { reason: 'customer asked for a human', summary: 'Damaged delivery of order #4821; replacement RR-7731 created.' });
    const [note] = fake.messagesIn(318);
    expect(note).toMatchObject({ private: true, token: 'bot' });
    expect(note?.content).toContain('customer asked for a human');
    expect(note?.content).toContain('RR-7731');
    expect(fake.conversations.get(318)?.status).toBe('open');
    const toggle = fake.requests.find((r) => r.path.endsWith('/toggle_status'));
    expect(toggle?.body).toEqual({ status: 'open' });
    expect(toggle?.headers['api_access_token']).toBe(fake.botToken);
  });

  it('maps Chatwoot failures to typed errors', async () => {
    fake.addConversation({ id: 318 });
    const a = adapter();
    const part = { kind: 'text' as const, text: 'hi' };
    fake.failNext({ path: '/messages', status: 429, retryAfter: 7 });
    await expect(a.sendPart(ref(318), part, ctx())).rejects.toMatchObject({ constructor: ProviderRateLimitedError, retryAfterMs: 7000 });
    fake.failNext({ path: '/messages', status: 500 });
    await expect(a.sendPart(ref(318), part, ctx())).rejects.toBeInstanceOf(ProviderUnavailableError);
    fake.failNext({ path: '/messages', status: 422, body: { error: 'Too many messages' } });
    await expect(a.sendPart(ref(318), part, ctx())).rejects.toMatchObject({ constructor: ProviderRateLimitedError, scope: 'recipient' });
    fake.failNext({ path: '/messages', status: 422, body: { error: 'content is invalid' } });
    await expect(a.sendPart(ref(318), part, ctx())).rejects.toBeInstanceOf(ProviderRejectedError);
    await expect(a.sendPart(ref(999), part, ctx())).rejects.toBeInstanceOf(ProviderRejectedError);
    const wrong = new ChatwootClient({ baseUrl: fake.url, accountId: 7, token: 'nope', role: 'bot' });
    await expect(createChatwootOutboundAdapter({ bot: wrong, log: silentLogger() }).sendPart(ref(318), part, ctx())).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('a network failure is retryable', async () => {
    const dead = new ChatwootClient({ baseUrl: 'http://127.0.0.1:1', accountId: 7, token: 't', role: 'bot', timeoutMs: 500 });
    await expect(createChatwootOutboundAdapter({ bot: dead, log: silentLogger() }).sendPart(ref(1), { kind: 'text', text: 'x' }, ctx())).rejects.toBeInstanceOf(ProviderUnavailableError);
  });

  it('reportDeliveryFailure marks the message failed and leaves a private note with the reason', async () => {
    fake.addConversation({ id: 318, status: 'open' });
    const human = await user.sendMessage(318, { content: 'Hi Jonas, Maria here', message_type: 'outgoing' });
    await reportDeliveryFailure(user, { conversationId: 318, messageId: human.id }, 'WhatsApp 131047: more than 24 hours since the customer last wrote');
    const stored = fake.messagesIn(318);
    expect(stored[0]).toMatchObject({ status: 'failed', external_error: 'WhatsApp 131047: more than 24 hours since the customer last wrote' });
    expect(stored[1]).toMatchObject({ private: true });
    expect(stored[1]?.content).toContain('131047');
  });

  it('reportDeliveryFailure still leaves the note where the status PATCH is refused (old installs)', async () => {
    fake.addConversation({ id: 318, status: 'open' });
    fake.failNext({ method: 'PATCH', status: 404 });
    await reportDeliveryFailure(user, { conversationId: 318, messageId: 1 }, 'WeChat 95002');
    expect(fake.messagesIn(318)).toEqual([expect.objectContaining({ private: true })]);
  });
});
