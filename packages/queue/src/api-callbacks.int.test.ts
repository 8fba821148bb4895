import { Redis } from 'ioredis';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { apiCallbackJobId, earlierApiCallbacksPending, noteApiMessageStatus, settleApiCallback } from './api-callbacks';
import { gatewayKeys } from './keys';
import { DeliveryLedger } from './ledger';
import { Producers } from './queues';

describe('noteApiMessageStatus (real Redis)', () => {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix('apicb');
  const keys = gatewayKeys(prefix);
  const producers = new Producers(redis, prefix);
  const ledger = new DeliveryLedger(redis, prefix);
  const ctx = { redis, producers, keys, ledger };
  const queued = async () => (await producers.queue('api-callbacks').getJobs(['waiting', 'prioritized', 'delayed'])).map((j) => j.id).sort();
  /** An API message of two parts, as the routes and the outbound role leave it. */
  const apiMessage = async (id: string) => {
    await redis.hset(keys.api.message(id), 'channel', 'whatsapp');
    await ledger.partSent(id, 0, `wamid.${id}.0`);
    await ledger.recordSent('whatsapp', `wamid.${id}.0`, { outboundId: id, part: 0, conversationId: 'c1' });
  };
  afterAll(async () => {
    await producers.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('reports nothing for other replies, nor before the reply is finished', async () => {
    await ledger.partSent('agent-reply-1', 0, 'wamid.x');
    await ledger.finish('agent-reply-1', 'sent');
    expect(await noteApiMessageStatus(ctx, 'whatsapp', 'agent-reply-1')).toBeUndefined();
    // an api-looking id the API does not know
    await ledger.finish('api-unknown1', 'sent');
    expect(await noteApiMessageStatus(ctx, 'whatsapp', 'api-unknown1')).toBeUndefined();
    await apiMessage('api-parts1');
    expect(await noteApiMessageStatus(ctx, 'whatsapp', 'api-parts1')).toBeUndefined();
    expect(await queued()).toEqual([]);
  });

  it('claims each advance once, whatever the number of notes; a status that does not advance claims nothing', async () => {
    const id = 'api-once1';
    await apiMessage(id);
    await ledger.finish(id, 'sent');
    const notes = await Promise.all(Array.from({ length: 5 }, () => noteApiMessageStatus(ctx, 'whatsapp', id, 1000)));
    expect(notes.filter(Boolean)).toEqual(['sent']);
    await ledger.applyStatus('whatsapp', `wamid.${id}.0`, 'read', 2000);
    expect(await noteApiMessageStatus(ctx, 'whatsapp', id, 3000)).toBe('read');
    expect(await noteApiMessageStatus(ctx, 'whatsapp', id, 4000)).toBeUndefined();
    // delivered after read: the ledger keeps read, nothing new
    await ledger.applyStatus('whatsapp', `wamid.${id}.0`, 'delivered', 5000);
    expect(await noteApiMessageStatus(ctx, 'whatsapp', id, 6000)).toBeUndefined();
    expect(await queued()).toEqual([apiCallbackJobId(id, 'read'), apiCallbackJobId(id, 'sent')]);
    const read = await producers.queue('api-callbacks').getJob(apiCallbackJobId(id, 'read'));
    expect(read?.data).toEqual({ id, status: 'read', at: 3000 });
    // read waits for sent until sent is posted or given up
    expect(await earlierApiCallbacksPending(redis, keys, { id, status: 'read' })).toEqual(['sent']);
    await settleApiCallback(redis, keys, { id, status: 'sent' });
    expect(await earlierApiCallbacksPending(redis, keys, { id, status: 'read' })).toEqual([]);
  });

  it('enqueues again a claimed callback whose job was lost (a crash between claim and enqueue)', async () => {
    const id = 'api-lost1';
    await apiMessage(id);
    await ledger.finish(id, 'sent');
    expect(await noteApiMessageStatus(ctx, 'whatsapp', id)).toBe('sent');
    await (await producers.queue('api-callbacks').getJob(apiCallbackJobId(id, 'sent')))?.remove();
    expect(await noteApiMessageStatus(ctx, 'whatsapp', id)).toBeUndefined();
    expect(await queued()).toContain(apiCallbackJobId(id, 'sent'));
  });

  it("reports failed with the provider's error, also after read", async () => {
    const id = 'api-failed1';
    await apiMessage(id);
    await ledger.finish(id, 'sent');
    await ledger.applyStatus('whatsapp', `wamid.${id}.0`, 'read', 2000);
    expect(await noteApiMessageStatus(ctx, 'whatsapp', id)).toBe('read');
    await ledger.applyStatus('whatsapp', `wamid.${id}.0`, 'failed', 3000, '131026 Message undeliverable');
    expect(await noteApiMessageStatus(ctx, 'whatsapp', id, 4000)).toBe('failed');
    const job = await producers.queue('api-callbacks').getJob(apiCallbackJobId(id, 'failed'));
    expect(job?.data).toEqual({ id, status: 'failed', at: 4000, error: '131026 Message undeliverable' });
  });
});
