/**
 * Native HTTPS in every app, as real processes: with TLS_CERT_FILE/TLS_KEY_FILE given as paths
 * relative to the repository root (the apps run from their own folders), whatsapp-ingress,
 * wechat-ingress, chatwoot-ingress, admin and the worker's ops port answer over HTTPS with that
 * certificate, and all of them serve a replaced certificate without a restart. Over HTTPS the real
 * whatsapp-ingress refuses a gzip body signed over the inflated JSON (401), a signed gzip bomb (413,
 * peak RSS bounded) and a br body (415).
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { dropPrefix, freePort, gzipBomb, httpsGet, postBytes, signMeta, whatsappTextDelivery, REPO_ROOT, selfSignedCertificate, startApp, testRedisUrl, uniquePrefix, type AppProcess } from '@switchboard/testkit';

const SECRET = 'https_process_app_secret_51f0';
const APPS = [
  ['whatsapp-ingress', 'WHATSAPP_PORT'],
  ['wechat-ingress', 'WECHAT_PORT'],
  ['chatwoot-ingress', 'CHATWOOT_PORT'],
  ['admin', 'ADMIN_PORT'],
  ['worker', 'WORKER_METRICS_PORT'],
] as const;

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out: ${what}`);
}

describe('every HTTP app serves HTTPS (TLS_CERT_FILE / TLS_KEY_FILE)', () => {
  const prefix = uniquePrefix('https');
  const dir = mkdtempSync(join(tmpdir(), 'sb-https-'));
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  const procs: AppProcess[] = [];
  const ports: Record<string, number> = {};

  const install = (pair: { cert: string; key: string }) => {
    writeFileSync(`${files.key}.new`, pair.key);
    renameSync(`${files.key}.new`, files.key);
    writeFileSync(`${files.cert}.new`, pair.cert);
    renameSync(`${files.cert}.new`, files.cert);
  };

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it('answers /healthz over HTTPS with the configured certificate, then with its replacement', async () => {
    const [first, second] = await Promise.all([selfSignedCertificate('first.test'), selfSignedCertificate('second.test')]);
    install(first);
    const env: Record<string, string> = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ADMIN_AUTH: 'off',
      // WhatsApp on, so the ingress verifies signatures; nothing in this test is accepted, and the
      // Graph URL points nowhere in case something were
      WHATSAPP_APP_SECRET: SECRET,
      WHATSAPP_VERIFY_TOKEN: 'v',
      WHATSAPP_ACCESS_TOKEN: 'https-test-token',
      WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9',
      // relative to the repository root, not to apps/<name> where each process runs
      TLS_CERT_FILE: relative(REPO_ROOT, files.cert),
      SSL_KEYFILE_PATH: relative(REPO_ROOT, files.key),
    };
    for (const [, variable] of APPS) {
      const port = await freePort();
      ports[variable] = port;
      env[variable] = String(port);
    }
    for (const [name] of APPS) procs.push(startApp(name, env));
    const describeOutput = () => procs.map((p, i) => `--- ${APPS[i]![0]}\n${p.output().slice(-1500)}`).join('\n');

    for (const [name, variable] of APPS) {
      const url = `https://127.0.0.1:${ports[variable]}/healthz`;
      await until(async () => (await httpsGet(url)).status === 200, 40_000, `${name} over https\n${describeOutput()}`);
      expect((await httpsGet(url)).cn).toBe('first.test');
    }

    // the wire rules hold over HTTPS in the real process: signature over the compressed bytes only
    const hook = `https://127.0.0.1:${ports.WHATSAPP_PORT}/webhooks/whatsapp`;
    const plain = Buffer.from(JSON.stringify(whatsappTextDelivery({ waId: '15550001111', text: 'over https' }).payload));
    const gz = gzipSync(plain);
    const json = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    expect((await postBytes(hook, gz, { ...json, 'x-hub-signature-256': signMeta(plain, SECRET) })).status).toBe(401);
    const bomb = await gzipBomb(512 * 1024 ** 2);
    expect((await postBytes(hook, bomb, { ...json, 'x-hub-signature-256': signMeta(bomb, SECRET) })).status).toBe(413);
    // the 512 MiB the bomb claims never materialise: the ingress's peak RSS stays far below it (Linux)
    const status = `/proc/${procs[0]!.child.pid}/status`;
    if (existsSync(status)) {
      const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'))?.[1]);
      expect(peakKb).toBeLessThan(300 * 1024);
    }
    expect((await postBytes(hook, gz, { ...json, 'content-encoding': 'br', 'x-hub-signature-256': signMeta(gz, SECRET) })).status).toBe(415);

    install(second);
    for (const [name, variable] of APPS) {
      await until(async () => (await httpsGet(`https://127.0.0.1:${ports[variable]}/healthz`)).cn === 'second.test', 15_000, `${name} reloads\n${describeOutput()}`);
    }
    for (const p of procs) expect(p.child.exitCode).toBeNull();
  }, 120_000);
});
