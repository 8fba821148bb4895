import type { Redis } from 'ioredis';
import { conversationId, silentLogger, type ConversationRef, type InboundEvent } from '@switchboard/core';
import { createRedis, listHumanOwned, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { buildWorkerDeps, loadWorkerEnv } from './compose';
import type { WorkerDeps } from './deps';
import { handleInbound } from './roles/inbound';

/** The admin overview lists human-owned conversations with their account: the worker records it. */
describe('human-owned conversations keep their gateway account (real Redis)', () => {
  const prefix = uniquePrefix('ownacc');
  let redis: RedisClient;
  let producer: RedisClient;
  let deps: WorkerDeps;

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'worker');
    producer = createRedis(testRedisUrl(), 'worker');
    await waitReady(redis);
    deps = buildWorkerDeps(loadWorkerEnv({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix }), redis, producer, silentLogger());
  });

  afterAll(async () => {
    await deps.close();
    await deps.producers.close();
    await dropPrefix(redis as Redis, prefix);
    redis.disconnect();
    producer.disconnect();
  });

  const signal = (eventId: string, conversation: ConversationRef): InboundEvent => ({ kind: 'signal', eventId, conversation, at: Date.now(), signal: 'human_took_over', detail: { reason: 'servicer took it' } });

  it('a takeover signal and a human message of a file account record the account; the default account records none', async () => {
    const tg: ConversationRef = { channel: 'telegram', accountId: 'tg-shop', account: '123', userId: '42' };
    const wa: ConversationRef = { channel: 'whatsapp', accountId: 'shop-de', account: '106540352242922', userId: '4915112345678' };
    const plain: ConversationRef = { channel: 'telegram', account: '123', userId: '43' };
    expect(await handleInbound(deps, signal('tg-shop.s1', tg))).toBe('human_took_over');
    expect(await handleInbound(deps, signal('s2', plain))).toBe('human_took_over');
    const human: InboundEvent = { kind: 'message', eventId: 'shop-de.m1', providerMessageId: 'm1', conversation: wa, sentAt: Date.now(), receivedAt: Date.now(), content: { type: 'text', text: 'Hallo, hier ist Anna' }, author: 'human_agent' };
    expect(await handleInbound(deps, human)).toBe('human_message');

    const owned = new Map((await listHumanOwned(redis, prefix)).map((o) => [o.conversationId, o.accountId]));
    expect(owned.get(conversationId(tg))).toBe('tg-shop');
    expect(owned.get(conversationId(wa))).toBe('shop-de');
    expect(owned.get(conversationId(plain))).toBe('default');
  });
});
