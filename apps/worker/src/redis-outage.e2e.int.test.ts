import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor, whatsappTextDelivery } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(60_000);

/** A private redis-server this test may stop and start (never the shared one). */
function startRedis(port: number, dir: string): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' });
}

async function answers(port: number): Promise<boolean> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

describe('Redis outage', () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  let server: ChildProcess;
  let p: Pipeline;

  beforeAll(async () => {
    server = startRedis(port, dir);
    await waitFor(() => answers(port), 10_000, 'private redis');
    p = await startPipeline({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    if (server.exitCode === null) server.kill('SIGKILL');
    await p.close();
  });

  it('answers 503 while Redis is down and loses nothing once it is back (the provider redelivers)', async () => {
    const first = whatsappTextDelivery({ waId: '15551400001', text: 'before the outage' });
    expect(await p.postWhatsApp(first.payload)).toBe(200);
    await waitFor(() => p.graph.textsTo('15551400001').length === 1, 10_000, 'reply before outage');

    server.kill('SIGKILL');
    await waitFor(async () => !(await answers(port)), 5000, 'redis down');
    const during = whatsappTextDelivery({ waId: '15551400002', text: 'during the outage' });
    expect(await p.postWhatsApp(during.payload)).toBe(503);

    server = startRedis(port, dir);
    await waitFor(() => answers(port), 10_000, 'redis back');
    // Meta retries a non-200 delivery: the same payload again, until it is accepted
    await waitFor(async () => (await p.postWhatsApp(during.payload)) === 200, 15_000, 'redelivery accepted');
    await waitFor(() => p.graph.textsTo('15551400002').length === 1, 20_000, 'reply after outage');
    expect(p.graph.textsTo('15551400002')[0]).toContain('during the outage');
  });
});
