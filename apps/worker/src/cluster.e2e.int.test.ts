/**
 * The end-to-end WhatsApp flow on a private 3-master Redis Cluster: signed webhook → ingress →
 * inbound → turn → outbound → fake Graph, with REDIS_URL naming the three seeds and a hash-tagged
 * queue prefix. Covers dedupe of concurrent copies and burst ordering.
 */
import { Cluster } from 'ioredis';
import { waitFor, whatsappTextDelivery } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { clusterToolsAvailable, startCluster } = require('../../../scripts/redis-cluster.cjs') as {
  clusterToolsAvailable(): boolean;
  startCluster(): Promise<{ ports: number[]; url: string; stop(): Promise<void> }>;
};

jest.setTimeout(60_000);

const available = clusterToolsAvailable();
if (!available) process.stderr.write('cluster.e2e.int.test: SKIPPED — redis-server and redis-cli must be on PATH to start a local Redis Cluster\n');
const describeCluster = available ? describe : describe.skip;

describeCluster('end to end on Redis Cluster', () => {
  let cluster: { ports: number[]; url: string; stop(): Promise<void> };
  let p: Pipeline;
  const saved = { url: process.env.REDIS_URL, run: process.env.SB_TEST_RUN };

  beforeAll(async () => {
    cluster = await startCluster();
    // The harness reads REDIS_URL (testRedisUrl) and builds its prefix with uniquePrefix(), which
    // embeds SB_TEST_RUN: a run id of `{gw}` makes the prefix hash-tagged (e2e{gw}x<pid>x<n>).
    process.env.REDIS_URL = cluster.url;
    process.env.SB_TEST_RUN = '{gw}';
    try {
      p = await startPipeline({ env: { TURN_DEBOUNCE_MS: '300', TURN_MAX_WAIT_MS: '1500' } });
    } finally {
      process.env.SB_TEST_RUN = saved.run;
    }
  });

  afterAll(async () => {
    // the harness drops its keys through testRedisUrl(); point it at one node of the cluster
    if (cluster) process.env.REDIS_URL = `redis://127.0.0.1:${cluster.ports[0]}`;
    await p?.close().catch(() => undefined);
    process.env.REDIS_URL = saved.url;
    await cluster?.stop();
  });

  it('runs on the Cluster client with a hash-tagged prefix', () => {
    expect(p.deps.redis).toBeInstanceOf(Cluster);
    expect(p.prefix).toContain('{gw}');
  });

  it('answers a customer once although the delivery arrives 5 times concurrently', async () => {
    const { payload } = whatsappTextDelivery({ waId: '15552600001', text: 'cluster hello' });
    const statuses = await Promise.all(Array.from({ length: 5 }, () => p.postWhatsApp(payload)));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    await waitFor(() => p.graph.textsTo('15552600001').length >= 1, 20_000, 'reply');
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.graph.textsTo('15552600001')).toEqual(['fake reply to: cluster hello']);
    expect(p.openai.requests).toHaveLength(1);
  });

  it('a burst becomes one turn; a later message is answered after it, in order', async () => {
    const before = p.openai.requests.length;
    for (const text of ['burst one', 'burst two', 'burst three']) {
      expect(await p.postWhatsApp(whatsappTextDelivery({ waId: '15552600002', text }).payload)).toBe(200);
    }
    await waitFor(() => p.graph.textsTo('15552600002').length >= 1, 20_000, 'burst reply');
    const burstCall = p.openai.requests[before];
    const userTexts = (burstCall?.messages ?? []).filter((m) => m.role === 'user').map((m) => JSON.stringify(m.content));
    for (const t of ['burst one', 'burst two', 'burst three']) expect(userTexts.join('\n')).toContain(t);
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId: '15552600002', text: 'after the burst' }).payload)).toBe(200);
    await waitFor(() => p.graph.textsTo('15552600002').length >= 2, 20_000, 'second reply');
    const texts = p.graph.textsTo('15552600002');
    expect(texts).toHaveLength(2);
    expect(texts[1]).toBe('fake reply to: after the burst');
  });
});
