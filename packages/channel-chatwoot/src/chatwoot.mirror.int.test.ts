import { Redis } from 'ioredis';
import { silentLogger, type ConversationRef, type MirrorJob } from '@switchboard/core';
import { dropPrefix, startFakeChatwoot, testRedisUrl, uniquePrefix, type FakeChatwoot } from '@switchboard/testkit';
import { ChatwootClient } from './chatwoot.client.js';
import { ChatwootMirror } from './chatwoot.mirror.js';
import { resolveMirroredRef } from './chatwoot.mirror-store.js';

const INBOX = 23;
const wa: ConversationRef = { channel: 'whatsapp', account: '1234567', userId: '4915112345678', address: '4915112345678', displayName: 'Jonas Becker' };
const wechat: ConversationRef = { channel: 'wechat-kf', account: 'wkOpenKf1', userId: 'wmExternalUser1', displayName: '小王' };

describe('chatwoot mirror (real Redis, fake Chatwoot)', () => {
  let fake: FakeChatwoot;
  const redises: Redis[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    fake = await startFakeChatwoot();
  });
  afterAll(async () => {
    await fake.close();
    const admin = new Redis(testRedisUrl());
    for (const p of prefixes) await dropPrefix(admin, p);
    admin.disconnect();
    for (const r of redises) r.disconnect();
  });
  beforeEach(() => fake.reset());

  /** `n` mirrors sharing one prefix, each with its own Redis connection, like separate worker processes. */
  function mirrors(n: number, opts: { bot?: boolean } = {}): ChatwootMirror[] {
    const prefix = uniquePrefix('cwm');
    prefixes.push(prefix);
    return Array.from({ length: n }, () => {
      const redis = new Redis(testRedisUrl());
      redises.push(redis);
      const user = new ChatwootClient({ baseUrl: fake.url, accountId: 7, token: fake.userToken, role: 'user', timeoutMs: 2000 });
      const bot = new ChatwootClient({ baseUrl: fake.url, accountId: 7, token: fake.botToken, role: 'bot', timeoutMs: 2000 });
      return new ChatwootMirror({ user, ...(opts.bot ? { bot } : {}), botId: 4, inboxId: INBOX, redis, prefix, log: silentLogger() });
    });
  }

  const job = (ref: ConversationRef, direction: MirrorJob['direction'], sourceId: string, text: string): MirrorJob => ({ ref, direction, sourceId, text, at: Date.now() });

  it('five simultaneous WhatsApp messages create exactly one contact and one conversation; the bot reply follows', async () => {
    fake.setDelay(15); // give the race a chance
    const workers = mirrors(5);
    await Promise.all(workers.map((m, i) => m.apply(job(wa, 'incoming', `wamid.${i}`, `message ${i}`))));
    await workers[0]!.apply(job(wa, 'outgoing', 'out-1', 'Sorry to hear that, Jonas!'));
    expect(fake.contacts).toHaveLength(1);
    expect(fake.contacts[0]).toMatchObject({ identifier: 'wa:4915112345678', phone_number: '+4915112345678', name: 'Jonas Becker' });
    expect(fake.conversations.size).toBe(1);
    const [conv] = [...fake.conversations.values()];
    expect(conv).toMatchObject({ inbox_id: INBOX, source_id: 'sb:wa:1234567:4915112345678' });
    // every conversation create carried the contact_inbox source_id (Evolution #2578)
    expect(fake.requests.filter((r) => r.method === 'POST' && /\/conversations$/.test(r.path)).map((r) => (r.body as { source_id?: string }).source_id)).toEqual(['sb:wa:1234567:4915112345678']);
    const msgs = fake.messagesIn(conv!.id);
    expect(msgs).toHaveLength(6);
    expect(msgs.filter((m) => m.message_type === 0).map((m) => m.source_id).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `sb:incoming:wamid.${i}`));
    expect(msgs.every((m) => m.token === 'user')).toBe(true);
    expect(msgs.find((m) => m.message_type === 1)).toMatchObject({ source_id: 'sb:outgoing:out-1', sender_type: 'AgentBot', sender_id: 4, content: 'Sorry to hear that, Jonas!' });
  });

  it('a repeated job posts nothing (dedupe before posting)', async () => {
    const [m] = mirrors(1);
    const j = job(wa, 'incoming', 'wamid.dup', 'hello');
    expect(await m!.apply(j)).toMatchObject({ posted: true });
    expect(await m!.apply(j)).toEqual({ posted: false, reason: 'already mirrored' });
    await Promise.all([m!.apply(j), m!.apply(j)]);
    expect(fake.messages).toHaveLength(1);
  });

  it('WeChat users get an identifier contact without phone; the mapping resolves back to the original ref', async () => {
    const [m] = mirrors(1);
    await m!.apply(job(wechat, 'incoming', 'msg-1', '你好'));
    expect(fake.contacts[0]).toMatchObject({ identifier: 'wechat:wmExternalUser1', phone_number: null, name: '小王' });
    const [conv] = [...fake.conversations.values()];
    expect(await resolveMirroredRef(m!.store, 7, conv!.id, undefined)).toEqual(wechat);
    // without the Redis mapping the contact_inbox source_id still identifies the conversation
    expect(await resolveMirroredRef(m!.store, 7, 99999, conv!.source_id)).toEqual({ channel: 'wechat-kf', account: 'wkOpenKf1', userId: 'wmExternalUser1' });
  });

  it('a conversation deleted in Chatwoot is recreated on the next attempt', async () => {
    const [m] = mirrors(1);
    await m!.apply(job(wa, 'incoming', 'w1', 'one'));
    fake.conversations.clear();
    await expect(m!.apply(job(wa, 'incoming', 'w2', 'two'))).rejects.toThrow(/vanished/);
    await m!.apply(job(wa, 'incoming', 'w2', 'two'));
    expect(fake.conversations.size).toBe(1);
    expect(fake.contacts).toHaveLength(1);
    expect(fake.messagesIn([...fake.conversations.keys()][0]!).map((x) => x.content)).toEqual(['two']);
  });

  it('a Chatwoot outage while posting is retryable and the retry posts exactly once', async () => {
    const [m] = mirrors(1);
    fake.failNext({ method: 'POST', path: /\/messages$/, status: 500 });
    await expect(m!.apply(job(wa, 'incoming', 'w-outage', 'hello'))).rejects.toThrow(/HTTP 500/);
    await m!.apply(job(wa, 'incoming', 'w-outage', 'hello'));
    expect(fake.messages).toHaveLength(1);
  });

  it('a phone number taken by another contact does not block mirroring', async () => {
    const [m] = mirrors(1);
    fake.contacts.push({ id: 1, name: 'Someone', identifier: null, phone_number: '+4915112345678', email: null, additional_attributes: {}, custom_attributes: {}, avatar_url: null, contact_inboxes: [] });
    await m!.apply(job(wa, 'incoming', 'w-phone', 'hi'));
    expect(fake.contacts.find((c) => c.identifier === 'wa:4915112345678')).toMatchObject({ phone_number: null });
  });

  it('handoff posts a private note and opens the conversation (bot token when attached, else user token)', async () => {
    const [m] = mirrors(1, { bot: true });
    await m!.apply(job(wa, 'incoming', 'w-h', 'I want a human'));
    const [conv] = [...fake.conversations.values()];
    fake.setConversation(conv!.id, { status: 'pending' });
    fake.failNext({ path: '/toggle_status', status: 401, body: { error: 'not authorized' } });
    await m!.apply(job(wa, 'handoff', 'handoff-1', 'customer asked for a human\n\nOrder #4821 damaged'));
    const note = fake.messagesIn(conv!.id).find((x) => x.private);
    expect(note?.content).toContain('customer asked for a human');
    expect(fake.conversations.get(conv!.id)?.status).toBe('open');
    const toggles = fake.requests.filter((r) => r.path.endsWith('/toggle_status'));
    expect(toggles.map((t) => t.headers['api_access_token'])).toEqual([fake.botToken, fake.userToken]);
  });
});
