import { Redis } from 'ioredis';
import type { Worker } from 'bullmq';
import { jobId, silentLogger, type ConversationRef, type MirrorJob } from '@switchboard/core';
import { closeWorkers, createRedis, Producers } from '@switchboard/queue';
import { dropPrefix, startFakeChatwoot, testRedisUrl, uniquePrefix, waitFor, type FakeChatwoot } from '@switchboard/testkit';
import { chatwootSettings, type ChatwootEnv, type ChatwootSettings } from './chatwoot.env.js';
import { startMirrorConsumer } from './chatwoot.worker.js';

type ChatwootWorkerSettings = Extract<ChatwootSettings, { enabled: true }>;

const consumers = { concurrency: 8, lockDurationMs: 30000 };

function settingsOf(env: Partial<ChatwootEnv>): ChatwootWorkerSettings {
  const s = chatwootSettings(env);
  if (!s.enabled) throw new Error(s.reason);
  return s;
}

describe('mirror role (BullMQ on real Redis, fake Chatwoot)', () => {
  let fake: FakeChatwoot;
  const prefix = uniquePrefix('mir');
  const redis = createRedis(testRedisUrl(), 'worker');
  const producers = new Producers(redis, prefix);
  let workers: Worker[] = [];

  beforeAll(async () => {
    fake = await startFakeChatwoot();
    const settings = settingsOf({ CHATWOOT_URL: fake.url, CHATWOOT_ACCOUNT_ID: 7, CHATWOOT_API_TOKEN: fake.userToken, CHATWOOT_BOT_TOKEN: fake.botToken, CHATWOOT_BOT_ID: 4, CHATWOOT_MIRROR_INBOX_ID: 23 });
    workers = startMirrorConsumer(settings, { log: silentLogger(), redis, queueRedis: redis, prefix, consumers });
  });
  afterAll(async () => {
    await closeWorkers(workers, 5000);
    await producers.close();
    await fake.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
  });

  it('is idle without CHATWOOT_MIRROR_INBOX_ID', () => {
    expect(startMirrorConsumer(settingsOf({ CHATWOOT_URL: fake.url, CHATWOOT_ACCOUNT_ID: 7, CHATWOOT_API_TOKEN: 'x' }), { log: silentLogger(), redis, queueRedis: redis, prefix, consumers })).toEqual([]);
  });

  it('five WhatsApp messages enqueued at once → one contact, one conversation, five incoming messages and the bot reply', async () => {
    const ref: ConversationRef = { channel: 'whatsapp', account: '1234567', userId: '4915112345678', address: '4915112345678' };
    const jobs: MirrorJob[] = [0, 1, 2, 3, 4].map((i) => ({ ref, direction: 'incoming', sourceId: `wamid.${i}`, text: `part ${i}`, at: Date.now() }));
    fake.setDelay(10);
    await producers.enqueueBulk('mirror', jobs.map((data) => ({ data, opts: { jobId: jobId('mir', data.sourceId) } })));
    // the same message enqueued again (a retried turn) is not posted twice
    await producers.enqueue('mirror', jobs[0]!, { jobId: jobId('mir-again', jobs[0]!.sourceId) });
    await producers.enqueue('mirror', { ref, direction: 'outgoing', sourceId: 'out-1', text: 'Thanks, Jonas!', at: Date.now() }, { jobId: jobId('mir', 'out-1') });
    await waitFor(() => fake.messages.length >= 6, 15_000, 'six mirrored messages');
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.contacts).toHaveLength(1);
    expect(fake.conversations.size).toBe(1);
    expect(fake.messages).toHaveLength(6);
    expect(fake.messages.filter((m) => m.message_type === 0)).toHaveLength(5);
    expect(fake.messages.filter((m) => m.message_type === 1)).toEqual([expect.objectContaining({ content: 'Thanks, Jonas!', source_id: 'sb:outgoing:out-1' })]);
  });
});
