import { dropPrefix, signMeta, startFakeGraph, testRedisUrl, uniquePrefix, WHATSAPP_FIXTURE_SECRET, type FakeGraph } from '@switchboard/testkit';
import { acquireLock, createRedis, gatewayKeys, waitReady, type RedisClient } from '@switchboard/queue';
import { withAccount, type UnsupportedEvent } from '@switchboard/core';
import { GraphClient } from './whatsapp.client.js';
import { whatsappInbound } from './whatsapp.channel-inbound.js';
import { createWhatsAppInboundAdapter } from './whatsapp.inbound.js';
import { templateStatusHook } from './whatsapp.template-hook.js';
import { TemplateCatalogueService } from './whatsapp.template-catalogue.js';
import { validateTemplate } from './whatsapp.templates.js';

const WABA = '1029384756';
/** 7 templates: with a page size of 3 the sync needs 3 pages. */
const entries = (status = 'APPROVED') =>
  Array.from({ length: 7 }, (_, i) => ({
    id: String(500 + i),
    name: `tpl_${i}`,
    language: i % 2 === 0 ? 'en_US' : 'de',
    status: i === 6 ? status : 'APPROVED',
    category: 'UTILITY',
    components: [{ type: 'BODY', text: i === 0 ? 'Hi {{1}}' : 'Hello' }],
  }));

describe('template catalogue (fake Graph + Redis)', () => {
  let graph: FakeGraph;
  let redis: RedisClient;
  let prefix: string;
  const service = (pageSize = 3, extra: { lockMs?: number } = {}) =>
    new TemplateCatalogueService({
      redis,
      keys: gatewayKeys(prefix).templates,
      accounts: new Map([['default', { wabaId: WABA, client: { listTemplates: (w: string) => new GraphClient({ baseUrl: graph.url, accessToken: 'tok' }).listTemplates(w, { pageSize }) } }]]),
      ...extra,
    });

  beforeAll(async () => {
    graph = await startFakeGraph();
    redis = createRedis(testRedisUrl(), 'producer');
    await waitReady(redis);
  });
  beforeEach(() => {
    prefix = uniquePrefix('tpl');
    graph.reset();
    graph.templates.set(WABA, entries());
  });
  afterEach(() => dropPrefix(redis as Parameters<typeof dropPrefix>[0], prefix));
  afterAll(async () => {
    await graph.close();
    await redis.quit();
  });

  it('syncs every page of message_templates and caches the catalogue', async () => {
    const svc = service(3);
    expect(await svc.cached('default')).toBeUndefined();
    const r = await svc.refresh('default');
    expect(r.refreshed).toBe(true);
    expect(graph.templateRequests()).toBe(3);
    const pages = graph.requests.filter((q) => q.path.endsWith('/message_templates'));
    expect(pages.map((q) => q.query.after ?? null)).toEqual([null, expect.any(String), expect.any(String)]);
    expect(pages[0]!.query.fields).toContain('components');
    const cached = await svc.cached('default');
    expect(cached).toMatchObject({ accountId: 'default', wabaId: WABA });
    expect(cached!.templates.map((t) => t.name)).toEqual(['tpl_0', 'tpl_1', 'tpl_2', 'tpl_3', 'tpl_4', 'tpl_5', 'tpl_6']);
    expect(validateTemplate(cached!, { name: 'tpl_0', language: 'en_US', params: ['Ana'] })).toMatchObject({ ok: true });
    expect(validateTemplate(cached!, { name: 'tpl_0', language: 'en_US', params: [] })).toMatchObject({ ok: false, code: 'parameter_mismatch' });
  });

  it('get() syncs once when nothing is cached, then serves the cache', async () => {
    const svc = service(100);
    expect((await svc.get('default'))!.templates).toHaveLength(7);
    expect((await svc.get('default'))!.templates).toHaveLength(7);
    expect(graph.templateRequests()).toBe(1);
    expect(await svc.get('other')).toBeUndefined();
  });

  it('a refresh picks up a status change', async () => {
    const svc = service(100);
    await svc.refresh('default');
    expect(validateTemplate((await svc.cached('default'))!, { name: 'tpl_6', language: 'en_US' })).toMatchObject({ ok: true });
    graph.templates.set(WABA, entries('PAUSED'));
    await svc.refresh('default');
    expect(validateTemplate((await svc.cached('default'))!, { name: 'tpl_6', language: 'en_US' })).toMatchObject({ ok: false, code: 'not_approved' });
  });

  it('only one worker syncs at a time (Redis lock)', async () => {
    const svc = service(100);
    const held = await acquireLock(redis, gatewayKeys(prefix).templates.syncLock('default'), 30_000);
    expect(await svc.refresh('default')).toEqual({ refreshed: false, reason: 'locked' });
    expect(graph.templateRequests()).toBe(0);
    await held!.release();
    expect((await svc.refresh('default')).refreshed).toBe(true);
  });

  it('a scheduled round is run by one of several workers', async () => {
    const a = service(100);
    const b = service(100);
    const [ra, rb] = await Promise.all([a.scheduledRound(60_000), b.scheduledRound(60_000)]);
    expect([...ra, ...rb]).toEqual(['default']);
    expect(graph.templateRequests()).toBe(1);
  });

  it('a Graph failure keeps the cached catalogue', async () => {
    const svc = service(100);
    await svc.refresh('default');
    graph.templates.delete(WABA);
    await expect(svc.refresh('default')).rejects.toThrow(/does not exist/);
    expect((await svc.cached('default'))!.templates).toHaveLength(7);
  });

  it('a message_template_status_update webhook is acknowledged, enqueued and re-syncs the catalogue', async () => {
    const svc = service(100);
    await svc.refresh('default');
    graph.templates.set(WABA, entries('PAUSED'));
    // the change as Meta sends it (field on the WABA, no phone number metadata)
    const raw = Buffer.from(
      JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [{ id: WABA, time: 1764770000, changes: [{ field: 'message_template_status_update', value: { event: 'PAUSED', message_template_id: 506, message_template_name: 'tpl_6', message_template_language: 'en_US', reason: 'LOW_QUALITY' } }] }],
      }),
    );
    const adapter = createWhatsAppInboundAdapter({ appSecret: WHATSAPP_FIXTURE_SECRET });
    const verified = adapter.verify({ rawBody: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(raw, WHATSAPP_FIXTURE_SECRET) }, query: {}, now: Date.now() });
    expect(verified.ok).toBe(true);
    const events = adapter.parse(verified.ok ? verified.payload : undefined, { receivedAt: Date.now() });
    expect(events).toEqual([expect.objectContaining({ kind: 'unsupported', providerType: 'message_template_status_update' })]);
    const policy = whatsappInbound.unsupported;
    expect(typeof policy === 'function' ? policy(events[0] as UnsupportedEvent) : policy).toBe('enqueue');
    const hook = templateStatusHook(svc, 'default');
    // another account's event or another kind passes through untouched
    expect(await hook(withAccount(events[0]!, 'shop-b'))).toBe(false);
    expect(graph.templateRequests()).toBe(1);
    expect(await hook(events[0]!)).toBe(true);
    expect(graph.templateRequests()).toBe(2);
    expect(validateTemplate((await svc.cached('default'))!, { name: 'tpl_6', language: 'en_US' })).toMatchObject({ ok: false, code: 'not_approved' });
  });

  it('a status change during another worker\'s sync waits for it and syncs again', async () => {
    const svc = service(100);
    const held = await acquireLock(redis, gatewayKeys(prefix).templates.syncLock('default'), 30_000);
    const pending = svc.refreshAfterChange('default');
    await new Promise((r) => setImmediate(r));
    expect(graph.templateRequests()).toBe(0);
    await held!.release();
    expect((await pending).refreshed).toBe(true);
    expect(graph.templateRequests()).toBe(1);
  });
});
