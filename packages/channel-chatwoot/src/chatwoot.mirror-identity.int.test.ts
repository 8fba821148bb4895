import { Redis } from 'ioredis';
import { silentLogger, type ConversationRef, type CustomerProfile, type MirrorJob } from '@switchboard/core';
import { dropPrefix, startFakeChatwoot, testRedisUrl, uniquePrefix, type FakeChatwoot } from '@switchboard/testkit';
import { ChatwootClient } from './chatwoot.client.js';
import { ChatwootMirror } from './chatwoot.mirror.js';
import type { MirrorFactSettings } from './chatwoot.mirror-facts-config.js';
import { chatwootFileSettings, chatwootAccountFields, chatwootSettings } from './chatwoot.env.js';

const INBOX = 23;
const wa: ConversationRef = { channel: 'whatsapp', account: '1234567', userId: 'DE.77', displayName: 'Jonas Becker', username: 'jonas.b' };
const wechat: ConversationRef = { channel: 'wechat-kf', account: 'wkOpenKf1', userId: 'wmExternalUser1' };
const tg: ConversationRef = { channel: 'telegram', accountId: 'tg-shop', account: '7012345678', userId: '5123456789', displayName: 'Ana Souza', username: 'ana_souza' };

describe('chatwoot mirror: contacts, labels and attributes (real Redis, fake Chatwoot)', () => {
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

  function newPrefix(): string {
    const prefix = uniquePrefix('cwi');
    prefixes.push(prefix);
    return prefix;
  }

  /** A mirror with its own Redis connection (a worker process); same prefix = same gateway. */
  function mirror(prefix: string, facts?: MirrorFactSettings): ChatwootMirror {
    const redis = new Redis(testRedisUrl());
    redises.push(redis);
    const user = new ChatwootClient({ baseUrl: fake.url, accountId: 7, token: fake.userToken, role: 'user', timeoutMs: 2000 });
    return new ChatwootMirror({ user, botId: 4, inboxId: INBOX, redis, prefix, log: silentLogger(), ...(facts ? { facts } : {}) });
  }

  let seq = 0;
  const job = (ref: ConversationRef, direction: MirrorJob['direction'] = 'incoming', extra: Partial<MirrorJob> = {}): MirrorJob => ({ ref, direction, sourceId: `s-${++seq}`, text: `message ${seq}`, at: Date.now(), ...extra });
  const calls = (method: string, path: RegExp) => fake.requests.filter((r) => r.method === method && path.test(r.path)).length;
  const profile = (p: CustomerProfile) => ({ profile: p });

  it('a WeChat contact is named and pictured from the channel profile, with its ids as attributes', async () => {
    const m = mirror(newPrefix());
    await m.apply(job(wechat), profile({ name: '小王', avatarUrl: 'https://wework.qpic.cn/wwhead/abc/0', identifiers: { unionid: 'oUnion1' } }));
    expect(fake.contacts).toHaveLength(1);
    expect(fake.contacts[0]).toMatchObject({
      identifier: 'wechat:wmExternalUser1',
      name: '小王',
      avatar_url: 'https://wework.qpic.cn/wwhead/abc/0',
      additional_attributes: { channel: 'wechat-kf', unionid: 'oUnion1' },
    });
    // created with the profile: nothing to update afterwards
    await m.apply(job(wechat), profile({ name: '小王', avatarUrl: 'https://wework.qpic.cn/wwhead/abc/0', identifiers: { unionid: 'oUnion1' } }));
    expect(calls('PATCH', /\/contacts\/\d+$/)).toBe(0);
  });

  it('WhatsApp and Telegram contacts carry the profile name and username', async () => {
    const m = mirror(newPrefix());
    await m.apply(job(wa));
    await m.apply(job(tg));
    expect(fake.contacts.find((c) => c.identifier === 'wa:DE.77')).toMatchObject({ name: 'Jonas Becker', phone_number: null, additional_attributes: { channel: 'whatsapp', username: 'jonas.b' } });
    expect(fake.contacts.find((c) => c.identifier === 'tg:5123456789')).toMatchObject({ name: 'Ana Souza', additional_attributes: { channel: 'telegram', username: 'ana_souza' } });
  });

  it('a customer first known by id only is renamed once when the nickname becomes known', async () => {
    const m = mirror(newPrefix());
    // the look-up failed: the contact is created with the id as its name
    await m.apply(job(wechat), profile({}));
    expect(fake.contacts[0]).toMatchObject({ name: 'wechat:wmExternalUser1' });
    await m.apply(job(wechat), profile({}));
    expect(calls('PATCH', /\/contacts\/\d+$/)).toBe(0);
    // the look-up works now: one update, then none while the profile stays the same
    const known = profile({ name: '小王', avatarUrl: 'https://wework.qpic.cn/wwhead/abc/0' });
    await Promise.all([m.apply(job(wechat), known), m.apply(job(wechat), known)]);
    await m.apply(job(wechat), known);
    expect(fake.contacts[0]).toMatchObject({ name: '小王', avatar_url: 'https://wework.qpic.cn/wwhead/abc/0' });
    expect(calls('PATCH', /\/contacts\/\d+$/)).toBe(1);
    // a later failed look-up never renames the contact back to its id
    await m.apply(job(wechat), profile({}));
    expect(fake.contacts[0]?.name).toBe('小王');
    // a new nickname is a change: one more update
    await m.apply(job(wechat), profile({ name: '王先生' }));
    await m.apply(job(wechat), profile({ name: '王先生' }));
    expect(fake.contacts[0]?.name).toBe('王先生');
    expect(calls('PATCH', /\/contacts\/\d+$/)).toBe(3);
  });

  it('two workers racing on a customer’s first message create one contact and one conversation', async () => {
    fake.setDelay(15);
    const prefix = newPrefix();
    const [a, b] = [mirror(prefix), mirror(prefix)];
    await Promise.all([a.apply(job(wechat), profile({ name: '小王' })), b.apply(job(wechat), profile({ name: '小王' }))]);
    expect(fake.contacts).toHaveLength(1);
    expect(fake.conversations.size).toBe(1);
    expect(fake.messages).toHaveLength(2);
  });

  it('after a restart (a new mirror on the same Redis and Chatwoot) nothing is created again', async () => {
    const prefix = newPrefix();
    await mirror(prefix).apply(job(wa));
    const restarted = mirror(prefix);
    await restarted.apply(job(wa));
    expect(fake.contacts).toHaveLength(1);
    expect(fake.conversations.size).toBe(1);
    expect(calls('POST', /\/contacts$/)).toBe(1);
    expect(calls('PATCH', /\/contacts\/\d+$/)).toBe(0);
  });

  it('with the Redis mapping lost, the contact is found by its identifier (not duplicated) and brought up to date once', async () => {
    await mirror(newPrefix()).apply(job(wechat), profile({}));
    // a new gateway Redis: no mapping, no applied state; Chatwoot still has the contact
    const fresh = mirror(newPrefix());
    await fresh.apply(job(wechat), profile({ name: '小王' }));
    await fresh.apply(job(wechat), profile({ name: '小王' }));
    expect(fake.contacts).toHaveLength(1);
    expect(fake.contacts[0]).toMatchObject({ identifier: 'wechat:wmExternalUser1', name: '小王' });
    expect(calls('POST', /\/contacts$/)).toBe(1);
    expect(calls('PATCH', /\/contacts\/\d+$/)).toBe(1);
  });

  it('a handoff labels the conversation with channel, account, language and reason and keeps the summary as an attribute; an agent’s own label stays', async () => {
    const m = mirror(newPrefix());
    await m.apply(job(tg));
    const [conv] = [...fake.conversations.values()];
    expect(conv?.labels.sort()).toEqual(['account-tg-shop', 'channel-telegram']);
    conv!.labels.push('vip');
    conv!.custom_attributes['order'] = '4821';
    const handoff = job(tg, 'handoff', { text: 'Damaged parcel\n\nOrder 4821 arrived damaged.', facts: { language: 'pt', handoff: { reason: 'Damaged parcel!', summary: 'Order 4821 arrived damaged.' } } });
    await m.apply(handoff);
    expect(conv?.labels.sort()).toEqual(['account-tg-shop', 'channel-telegram', 'handoff-agent_decision', 'lang-pt', 'vip']);
    expect(conv?.custom_attributes).toEqual({
      order: '4821',
      channel: 'telegram',
      gateway_account: 'tg-shop',
      language: 'pt',
      handoff_reason: 'agent_decision',
      handoff_detail: 'Damaged parcel!',
      handoff_summary: 'Order 4821 arrived damaged.',
    });
    // the retried job changes nothing and asks Chatwoot nothing about labels or attributes
    const before = fake.requests.length;
    await m.apply(handoff);
    expect(fake.requests.slice(before).filter((r) => /labels|custom_attributes|\/conversations\/\d+$/.test(r.path))).toEqual([]);
    expect(fake.messagesIn(conv!.id).filter((x) => x.private)).toHaveLength(1);
  });

  it('opt-out sets the opted-out label and attribute (conversation and contact); opt-in clears them', async () => {
    const m = mirror(newPrefix());
    await m.apply(job(wa));
    const [conv] = [...fake.conversations.values()];
    await m.apply(job(wa, 'note', { text: 'The customer opted out', facts: { optedOut: true } }));
    expect(conv?.labels).toContain('opted-out');
    expect(conv?.custom_attributes['opted_out']).toBe(true);
    expect(fake.contacts[0]?.custom_attributes).toEqual({ opted_out: true });
    await m.apply(job(wa, 'note', { text: 'The customer opted in', facts: { optedOut: false } }));
    expect(conv?.labels).not.toContain('opted-out');
    expect(conv?.custom_attributes['opted_out']).toBe(false);
    expect(fake.contacts[0]?.custom_attributes).toEqual({ opted_out: false });
  });

  it('concurrent jobs of one conversation on several workers never lose each other’s labels', async () => {
    fake.setDelay(10);
    const prefix = newPrefix();
    const workers = [mirror(prefix), mirror(prefix), mirror(prefix)];
    await workers[0]!.apply(job(wa));
    await Promise.all([
      workers[0]!.apply(job(wa, 'handoff', { facts: { handoff: { reason: 'refund', summary: 'Wants a refund.' } } })),
      workers[1]!.apply(job(wa, 'note', { facts: { optedOut: true } })),
      workers[2]!.apply(job(wa, 'outgoing', { facts: { language: 'de' } })),
    ]);
    const [conv] = [...fake.conversations.values()];
    expect(conv?.labels.sort()).toEqual(['account-default', 'channel-whatsapp', 'handoff-agent_decision', 'lang-de', 'opted-out']);
    expect(conv?.custom_attributes).toMatchObject({ handoff_reason: 'agent_decision', handoff_detail: 'refund', opted_out: true, language: 'de' });
  });

  it('labels and attributes follow the settings (off, or a list)', async () => {
    const m = mirror(newPrefix(), { labels: ['handoff'], attributes: [] });
    await m.apply(job(wa));
    await m.apply(job(wa, 'handoff', { facts: { handoff: { reason: 'refund', summary: 'Wants a refund.' } } }));
    const [conv] = [...fake.conversations.values()];
    expect(conv?.labels).toEqual(['handoff-agent_decision']);
    expect(conv?.custom_attributes).toEqual({});
    expect(calls('POST', /custom_attributes$/)).toBe(0);
  });

  it('CHATWOOT_LABELS / CHATWOOT_ATTRIBUTES and the account keys parse on, off and lists', () => {
    const env = chatwootSettings({ CHATWOOT_URL: 'https://cw.example', CHATWOOT_ACCOUNT_ID: 1 });
    expect(env.enabled && env.mirrorFacts.labels).toContain('opted-out');
    const fields = chatwootAccountFields.parse({ url: 'https://cw.example', accountId: 1, webhookSecret: 's', labels: 'channel,handoff', attributes: 'off' });
    expect(chatwootFileSettings(fields, {}).mirrorFacts).toEqual({ labels: ['channel', 'handoff'], attributes: [] });
    expect(chatwootAccountFields.safeParse({ url: 'https://cw.example', accountId: 1, webhookSecret: 's', labels: 'channel,colour' }).success).toBe(false);
  });
});
