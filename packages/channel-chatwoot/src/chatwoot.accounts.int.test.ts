import { Redis } from 'ioredis';
import { gatewayKeys, Producers, createRedis } from '@switchboard/queue';
import { silentLogger, type ConversationRef, type InboundEvent, type InboundMessage, type OutboundJob } from '@switchboard/core';
import { dropPrefix, fixtureJson, startFakeChatwoot, testRedisUrl, uniquePrefix, type FakeChatwoot } from '@switchboard/testkit';
import { chatwootAccountInbound } from './chatwoot.channel-inbound.js';
import { chatwootSettings } from './chatwoot.env.js';
import { decodeMirrorContactSourceId, MirrorStore, mirrorContactSourceId } from './chatwoot.mirror-store.js';
import { chatwootClients } from './chatwoot.outbound-adapter.js';
import { relayedChatwootMessage, relayedMessageId } from './chatwoot.parse.js';
import { chatwootRelayHook, chatwootTakeoverHook } from './chatwoot.worker.js';
import type { WireEnvelope } from './chatwoot.wire.js';

/**
 * Two Chatwoot instances served by one gateway: ids that both instances hand out (account 7,
 * conversation 318) stay apart per gateway account, and each account's worker hooks act only on
 * events of their own instance. The `default` account keeps its historical ids and keys.
 */
const waRef = (userId: string, accountId?: string): ConversationRef => ({ channel: 'whatsapp', ...(accountId ? { accountId } : {}), account: '1234567', userId, address: userId });

describe('ids of a non-default Chatwoot account', () => {
  it('a relayed reply names its gateway account; the default keeps the old form', () => {
    expect(relayedMessageId(318, 551230)).toBe('chatwoot:318:551230');
    expect(relayedMessageId(318, 551230, 'default')).toBe('chatwoot:318:551230');
    expect(relayedChatwootMessage({ providerMessageId: 'chatwoot:318:551230' })).toEqual({ conversationId: 318, messageId: 551230 });
    for (const gateway of ['cw-b', '12']) {
      expect(relayedChatwootMessage({ providerMessageId: relayedMessageId(318, 551230, gateway) })).toEqual({ conversationId: 318, messageId: 551230, accountId: gateway });
    }
  });

  it("a mirror conversation's source id carries the customer's gateway account", () => {
    expect(mirrorContactSourceId(waRef('4915112345678'))).toBe('sb:wa:1234567:4915112345678');
    expect(mirrorContactSourceId(waRef('4915112345678', 'wa-b'))).toBe('sb:wa:1234567:4915112345678:wa-b');
    expect(decodeMirrorContactSourceId('sb:wa:1234567:4915112345678:wa-b')).toEqual({ channel: 'whatsapp', accountId: 'wa-b', account: '1234567', userId: '4915112345678' });
    expect(decodeMirrorContactSourceId('sb:wa:1234567:4915112345678')).toEqual({ channel: 'whatsapp', account: '1234567', userId: '4915112345678' });
  });
});

describe('two Chatwoot instances on real Redis', () => {
  const prefix = uniquePrefix('cwacc');
  const redis = createRedis(testRedisUrl(), 'worker');
  const producers = new Producers(redis, prefix);
  const keys = gatewayKeys(prefix);
  let fake: FakeChatwoot;

  beforeAll(async () => {
    fake = await startFakeChatwoot();
  });
  afterAll(async () => {
    await producers.close();
    await fake.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
  });

  it('mirror mappings of the same Chatwoot account and conversation ids stay apart per gateway account', async () => {
    const a = new MirrorStore(redis, prefix);
    const b = new MirrorStore(redis, prefix, 'cw-b');
    const mapping = (ref: ConversationRef) => ({ accountId: 7, inboxId: 23, contactId: 5000, conversationId: 1000, sourceId: mirrorContactSourceId(ref), ref });
    await a.save(mapping(waRef('491510000001')));
    await b.save(mapping(waRef('491510000002', 'wa-b')));
    expect((await a.byChatwootConversation(7, 1000))?.ref.userId).toBe('491510000001');
    expect((await b.byChatwootConversation(7, 1000))?.ref).toEqual(waRef('491510000002', 'wa-b'));
    // the default account's keys are the ones it always had
    expect(await redis.exists(keys.chatwoot.mirrorByConversation(7, 1000))).toBe(1);
    expect(a.messageKey('sb:incoming:x')).toBe(keys.chatwoot.mirroredMessage('sb:incoming:x'));
    expect(b.messageKey('sb:incoming:x')).not.toBe(a.messageKey('sb:incoming:x'));
    expect(await b.get(waRef('491510000001'))).toBeUndefined();
  });

  it("each account's ingress resolves its own instance's mirror conversation and names itself in the relayed reply", async () => {
    const settings = chatwootSettings({ CHATWOOT_URL: fake.url, CHATWOOT_ACCOUNT_ID: 7, CHATWOOT_MIRROR_INBOX_ID: 23, CHATWOOT_WEBHOOK_SECRET: ['s'] });
    if (!settings.enabled) throw new Error(settings.reason);
    const human = fixtureJson<WireEnvelope & { conversation: Record<string, unknown> }>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
    const payload = { ...human, inbox: { id: 23, name: 'mirror' }, conversation: { ...human.conversation, id: 1000, inbox_id: 23, contact_inbox: { contact_id: 5000, source_id: 'unknown' } } } as WireEnvelope;
    const relayed = async (gateway: string | undefined) => {
      const inbound = chatwootAccountInbound(settings, { redis, prefix }, gateway);
      const extras = await inbound.prepare!(payload, { receivedAt: Date.now() });
      return inbound.adapter.parse(payload, { ...extras, receivedAt: Date.now() })[0] as InboundMessage;
    };
    const viaA = await relayed(undefined);
    const viaB = await relayed('cw-b');
    expect(viaA.conversation.userId).toBe('491510000001');
    expect(viaB.conversation).toEqual(waRef('491510000002', 'wa-b'));
    expect(relayedChatwootMessage(viaA)?.accountId).toBeUndefined();
    expect(relayedChatwootMessage(viaB)?.accountId).toBe('cw-b');
  });

  it("an account's relay hook relays only replies typed in its own instance", async () => {
    const ctx = { redis, producers, keys, log: silentLogger(), setOwner: () => Promise.resolve(), renderText: (c: InboundMessage['content']) => (c.type === 'text' ? c.text : '') };
    const reply = (gateway: string | undefined, messageId: number): InboundEvent => ({
      kind: 'message',
      eventId: `relay-${messageId}`,
      providerMessageId: relayedMessageId(1000, messageId, gateway),
      conversation: waRef('491510000002', 'wa-b'),
      sentAt: Date.now(),
      receivedAt: Date.now(),
      content: { type: 'text', text: 'Hi from a human' },
      author: 'human_agent',
    });
    const hookA = chatwootRelayHook(ctx);
    const hookB = chatwootRelayHook(ctx, 'cw-b');
    expect(await hookA(reply('cw-b', 1))).toBe(false);
    expect(await hookB(reply(undefined, 2))).toBe(false);
    expect(await producers.queue('outbound-whatsapp').getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 0, delayed: 0, active: 0 });
    expect(await hookB(reply('cw-b', 3))).toBe(true);
    expect(await hookA(reply(undefined, 4))).toBe(true);
    const jobs = (await producers.queue('outbound-whatsapp').getJobs(['waiting', 'delayed'])).map((j) => j.data as OutboundJob);
    expect(jobs.map((j) => j.chatwootMessage).sort((x, y) => (x?.messageId ?? 0) - (y?.messageId ?? 0))).toEqual([
      { conversationId: 1000, messageId: 3, accountId: 'cw-b' },
      { conversationId: 1000, messageId: 4 },
    ]);
    expect(jobs.every((j) => j.ref.accountId === 'wa-b')).toBe(true);
  });

  it("an account's takeover hook opens only its own instance's conversations", async () => {
    fake.addConversation({ id: 408, inbox_id: 5, contact_id: 4411, status: 'pending' });
    const { bot } = chatwootClients(chatwootSettings({ CHATWOOT_URL: fake.url, CHATWOOT_ACCOUNT_ID: 7, CHATWOOT_BOT_TOKEN: fake.botToken }));
    if (!bot) throw new Error('no bot client');
    const signal = (accountId?: string): InboundEvent => ({
      kind: 'signal',
      eventId: `takeover-${accountId ?? 'default'}`,
      conversation: { channel: 'chatwoot', ...(accountId ? { accountId } : {}), account: '7', userId: '4411', threadId: '408' },
      at: Date.now(),
      signal: 'human_took_over',
      detail: { reason: 'human agent replied' },
    });
    await chatwootTakeoverHook(bot, { log: silentLogger() })(signal('cw-b'));
    await chatwootTakeoverHook(bot, { log: silentLogger() }, 'cw-b')(signal());
    expect(fake.requests.filter((r) => r.path.includes('/toggle_status'))).toHaveLength(0);
    await chatwootTakeoverHook(bot, { log: silentLogger() }, 'cw-b')(signal('cw-b'));
    expect(fake.conversations.get(408)?.status).toBe('open');
  });
});
