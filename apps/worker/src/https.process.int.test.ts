/**
 * Native HTTPS in every app, as real processes: with TLS_CERT_FILE/TLS_KEY_FILE given as paths
 * relative to the repository root (the apps run from their own folders), whatsapp-ingress,
 * wechat-ingress, chatwoot-ingress, admin and the worker's ops port answer over HTTPS with that
 * certificate, and all of them serve a replaced certificate without a restart.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Redis } from 'ioredis';
import { dropPrefix, freePort, httpsGet, REPO_ROOT, selfSignedCertificate, startApp, testRedisUrl, uniquePrefix, type AppProcess } from '@switchboard/testkit';

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

    install(second);
    for (const [name, variable] of APPS) {
      await until(async () => (await httpsGet(`https://127.0.0.1:${ports[variable]}/healthz`)).cn === 'second.test', 15_000, `${name} reloads\n${describeOutput()}`);
    }
    for (const p of procs) expect(p.child.exitCode).toBeNull();
  }, 120_000);
});
