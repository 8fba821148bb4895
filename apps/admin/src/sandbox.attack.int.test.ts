import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Redis } from 'ioredis';
import { ConfigError, createMetricsRegistry, loadConfig, silentLogger } from '@switchboard/core';
import { createRedis, Producers, setConversationOwner, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, freePort, startApp, testRedisUrl, uniquePrefix, waitForHttp, type AppProcess } from '@switchboard/testkit';
import { envFor, planSandbox, prepareSandbox } from '@switchboard/scripts/lib/sandbox-plan.cjs';
import { createAdminApp } from './app';
import { adminEnv, resolveSandboxSettings } from './env';
import { isLoopbackHost } from './security';
import { createSandbox } from './sandbox/sandbox';

jest.setTimeout(60_000);

/** Credentials a real deployment would hold (made-up values, shaped like the real ones). */
const REAL_WHATSAPP = {
  WHATSAPP_APP_SECRET: 'real0123456789abcdef0123456789ab',
  WHATSAPP_ACCESS_TOKEN: 'EAAGrealaccesstoken0123456789',
  WHATSAPP_VERIFY_TOKEN: 'real-verify-token',
};
const REAL_CHATWOOT = { CHATWOOT_URL: 'https://chat.example.com', CHATWOOT_ACCOUNT_ID: '1', CHATWOOT_BOT_TOKEN: 'realbottoken', CHATWOOT_API_TOKEN: 'realapitoken' };
const REAL_SECRETS = [...Object.values(REAL_WHATSAPP), REAL_CHATWOOT.CHATWOOT_BOT_TOKEN, REAL_CHATWOOT.CHATWOOT_API_TOKEN, 'sk-real-openai-key'];
const AUTH = { user: 'ops', password: 'attack-test-password' };
const basic = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;

/** Every value of an environment that contains one of the real secrets. */
const leaks = (env: Record<string, string | undefined>) => Object.entries(env).filter(([, v]) => v && REAL_SECRETS.some((s) => v.includes(s)));

describe('the sandbox never touches a real channel (attacker and misconfiguration)', () => {
  let redis: RedisClient;
  const prefixes: string[] = [];

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
  });
  afterAll(async () => {
    const admin = new Redis(testRedisUrl());
    for (const p of prefixes) await dropPrefix(admin, p);
    admin.disconnect();
    redis.disconnect();
  });

  const plainApp = (auth: typeof AUTH | undefined, prefix: string) => {
    const producers = new Producers(redis, prefix);
    return { app: createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'admin-attack' }), redis, producers, prefix, auth }), producers };
  };

  describe('the sandbox plan of `pnpm start`', () => {
    it('fakes every channel (under its own key prefix and data folder) only when nothing is configured', () => {
      const plan = planSandbox({ QUEUE_PREFIX: 'gw' }, { root: '/repo' });
      expect(plan.enabled).toBe(true);
      expect(plan.faked).toEqual(['whatsapp', 'wechat-kf', 'telegram']);
      expect(plan.shared.QUEUE_PREFIX).toBe('gw-sandbox');
      expect(plan.dataDir).toBe('/repo/.data/sandbox');
      expect(plan.file).toBe('/repo/.data/sandbox/sandbox.env');
      expect(plan.shared.WHATSAPP_GRAPH_URL).toBe('http://127.0.0.1:3000/sandbox/graph/v24.0');
      expect(plan.shared.WECHAT_API_URL).toBe('http://127.0.0.1:3000/sandbox/wecom');
      expect(plan.shared.TELEGRAM_API_URL).toBe('http://127.0.0.1:3000/sandbox/telegram');
      expect(plan.shared.TELEGRAM_BOT_TOKEN).toMatch(/^\d+:sandbox[0-9a-f]{32}$/);
      // the admin app signs with the generated secrets under SANDBOX_* names, the same the ingress got
      const admin = envFor(plan, 'admin', {});
      expect(admin.SANDBOX_WHATSAPP_APP_SECRET).toBe(plan.shared.WHATSAPP_APP_SECRET);
      expect(admin.WHATSAPP_APP_SECRET).toBe('');
      expect(envFor(plan, 'worker', {}).SANDBOX_WHATSAPP_APP_SECRET).toBeUndefined();
      expect(plan.shared.ADMIN_AUTH).toBe('off');
    });

    it('never fakes a channel that has real credentials: real WhatsApp alone → no sandbox at all', () => {
      const plan = planSandbox({ ...REAL_WHATSAPP });
      expect(plan.enabled).toBe(false);
      expect(plan.shared).toEqual({ SANDBOX: 'off' });
      expect(plan.reason).toMatch(/real credentials are set \(whatsapp\)/);
      // a single credential is enough to count as real
      expect(planSandbox({ WHATSAPP_VERIFY_TOKEN: 'x' }).enabled).toBe(false);
      expect(planSandbox({ WECHAT_CORP_ID: 'ww1' }).enabled).toBe(false);
      // a real channel the sandbox cannot fake counts too: nothing is faked next to a live Telegram bot by default
      expect(planSandbox({ TELEGRAM_BOT_TOKEN: '123:AA' })).toMatchObject({ enabled: false, real: ['telegram'] });
      expect(envFor(planSandbox({ TELEGRAM_BOT_TOKEN: '123:AA', SANDBOX: 'on' }), 'admin', { TELEGRAM_BOT_TOKEN: '123:AA' }).TELEGRAM_BOT_TOKEN).toBe('');
    });

    it('with SANDBOX=on next to real WhatsApp + Chatwoot: only WeChat and Telegram are faked, and the admin app gets no real secret', () => {
      const env = { ...REAL_WHATSAPP, ...REAL_CHATWOOT, OPENAI_API_KEY: 'sk-real-openai-key', SANDBOX: 'on', QUEUE_PREFIX: 'gw' };
      const plan = planSandbox(env);
      expect(plan.enabled).toBe(true);
      expect(plan.faked).toEqual(['wechat-kf', 'telegram']);
      expect(plan.real).toEqual(['whatsapp', 'chatwoot']);
      // the real channel's settings are left alone for the ingress and workers
      for (const k of [...Object.keys(REAL_WHATSAPP), 'WHATSAPP_GRAPH_URL']) expect(plan.shared[k]).toBeUndefined();
      const admin = envFor(plan, 'admin', { ...env, ...plan.shared });
      expect(leaks(admin)).toEqual([]);
      expect(admin.SANDBOX_WHATSAPP_APP_SECRET).toBeUndefined();
      expect(admin.SANDBOX_AGENT_ONLINE).toBe('true');
      // …and the admin app accepts that environment, offering WeChat only
      const settings = resolveSandboxSettings(loadConfig(adminEnv, admin));
      expect(settings?.whatsapp).toBeUndefined();
      expect(settings?.wechat?.secret).toBe(plan.shared.WECHAT_SECRET);
      expect(settings?.agentOnline).toBe(true);
      // the other apps keep the real WhatsApp credentials
      expect(envFor(plan, 'worker', { ...env, ...plan.shared }).WHATSAPP_ACCESS_TOKEN).toBe(REAL_WHATSAPP.WHATSAPP_ACCESS_TOKEN);
      // an admin login is generated: a real channel is configured, so the admin is never open
      expect(plan.shared.ADMIN_AUTH).toBeUndefined();
      expect(plan.login?.password).toEqual(expect.any(String));
    });

    it('switching a channel to real credentials moves the gateway to another key prefix (leftover sandbox jobs are never retried for real)', () => {
      const allFake = planSandbox({ QUEUE_PREFIX: 'gw' });
      const whatsappReal = planSandbox({ ...REAL_WHATSAPP, SANDBOX: 'on', QUEUE_PREFIX: 'gw' });
      const allReal = planSandbox({ ...REAL_WHATSAPP, WECHAT_TOKEN: 't', WECHAT_AESKEY: 'a', WECHAT_CORP_ID: 'c', WECHAT_SECRET: 's', QUEUE_PREFIX: 'gw' });
      const prefixes = [allFake.shared.QUEUE_PREFIX, whatsappReal.shared.QUEUE_PREFIX, allReal.shared.QUEUE_PREFIX ?? 'gw'];
      expect(prefixes).toEqual(['gw-sandbox', 'gw-sandbox-wechat-kf-telegram', 'gw']);
      expect(new Set(prefixes).size).toBe(3);
    });

    it('is off with SANDBOX=off or NODE_ENV=production', () => {
      expect(planSandbox({ SANDBOX: 'off' }).enabled).toBe(false);
      const prod = planSandbox({ NODE_ENV: 'production', SANDBOX: 'on' });
      expect(prod.enabled).toBe(false);
      expect(prod.shared.SANDBOX).toBe('off');
    });

    it('keeps its generated secrets in .data/sandbox/sandbox.env (0600) and reuses them on the next start', () => {
      const root = mkdtempSync(join(tmpdir(), 'sb-plan-'));
      try {
        const first = prepareSandbox(root, {});
        const file = join(root, '.data', 'sandbox', 'sandbox.env');
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(readFileSync(file, 'utf8')).toContain(`WHATSAPP_APP_SECRET=${first.shared.WHATSAPP_APP_SECRET}`);
        const env: Record<string, string | undefined> = {};
        const second = prepareSandbox(root, env);
        expect(second.shared.WECHAT_AESKEY).toBe(first.shared.WECHAT_AESKEY);
        expect(second.shared.WECHAT_AESKEY).toMatch(/^[A-Za-z0-9]{43}$/);
        expect(env.QUEUE_PREFIX).toBe('gw-sandbox');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('puts every sandbox key under its own prefix (real Redis): nothing lands under the real prefix', async () => {
      const base = uniquePrefix('sbxatk');
      prefixes.push(base);
      const plan = planSandbox({ QUEUE_PREFIX: base });
      const sandboxPrefix = plan.shared.QUEUE_PREFIX!;
      expect(sandboxPrefix).toBe(`${base}-sandbox`);
      const producers = new Producers(redis, sandboxPrefix);
      await producers.enqueue('outbound-whatsapp', { outboundId: 'out-sbx-1', ref: { channel: 'whatsapp', account: '1', userId: '155500001' }, reply: { text: 'hi' }, origin: 'human' }, { jobId: 'out-sbx-1', delay: 60_000 });
      await setConversationOwner(redis, sandboxPrefix, 'whatsapp-abc', 'human', 'sandbox');
      await producers.close();
      const under = async (pattern: string) => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          found.push(...keys);
        } while (cursor !== '0');
        return found;
      };
      expect((await under(`${sandboxPrefix}:*`)).length).toBeGreaterThan(0);
      expect(await under(`${base}:*`)).toEqual([]);
      // a real worker would look under `${base}`: the delayed sandbox reply is not there
      const real = new Producers(redis, base);
      expect(await real.queue('outbound-whatsapp').getJob('out-sbx-1')).toBeUndefined();
      await real.close();
    });
  });

  describe('the admin app', () => {
    it('refuses SANDBOX=on next to real credentials of a channel the sandbox fakes, and under NODE_ENV=production (in-process)', () => {
      expect(() => resolveSandboxSettings(loadConfig(adminEnv, { SANDBOX: 'on', ...REAL_WHATSAPP }))).toThrow(ConfigError);
      expect(() => resolveSandboxSettings(loadConfig(adminEnv, { SANDBOX: 'on', WHATSAPP_ACCESS_TOKEN: 'x' }))).toThrow(/real WhatsApp credentials \(WHATSAPP_ACCESS_TOKEN\)/);
      expect(() => resolveSandboxSettings(loadConfig(adminEnv, { SANDBOX: 'on', WECHAT_SECRET: 'x' }))).toThrow(/real WeChat credentials/);
      expect(() => resolveSandboxSettings(loadConfig(adminEnv, { SANDBOX: 'on', NODE_ENV: 'production' }))).toThrow(/NODE_ENV=production/);
      // without SANDBOX the credentials are fine (the admin app does not use them)
      expect(resolveSandboxSettings(loadConfig(adminEnv, { ...REAL_WHATSAPP }))).toBeUndefined();
    });

    it('a real admin process with real WhatsApp credentials and SANDBOX=on stops at start with a clear error', async () => {
      const cases: Record<string, string>[] = [{ ...REAL_WHATSAPP }, { NODE_ENV: 'production', ADMIN_USER: 'ops', ADMIN_PASSWORD: 'pw' }];
      for (const extra of cases) {
        const port = await freePort();
        const app = startApp('admin', { REDIS_URL: testRedisUrl(), ADMIN_PORT: String(port), ADMIN_AUTH: 'off', SANDBOX: 'on', QUEUE_PREFIX: uniquePrefix('sbxatk'), ...extra });
        expect(await app.exited).toBe(1);
        expect(app.output()).toMatch(extra.NODE_ENV ? /SANDBOX=on is refused under NODE_ENV=production/ : /SANDBOX=on is refused next to real WhatsApp credentials \(WHATSAPP_APP_SECRET, WHATSAPP_ACCESS_TOKEN, WHATSAPP_VERIFY_TOKEN\)/);
        expect(app.output()).not.toContain(REAL_WHATSAPP.WHATSAPP_APP_SECRET);
      }
    });

    it('a real admin process started as `pnpm start` would (real WhatsApp, SANDBOX=on) fakes WeChat only', async () => {
      const port = await freePort();
      const base = uniquePrefix('sbxatk');
      prefixes.push(base);
      const env = { ...REAL_WHATSAPP, SANDBOX: 'on', QUEUE_PREFIX: base, ADMIN_PORT: String(port), ADMIN_USER: AUTH.user, ADMIN_PASSWORD: AUTH.password, REDIS_URL: testRedisUrl() };
      const plan = planSandbox(env);
      const adminEnvVars = envFor(plan, 'admin', { ...env, ...plan.shared }) as Record<string, string>;
      let app: AppProcess | undefined;
      try {
        app = startApp('admin', adminEnvVars);
        await waitForHttp(`http://127.0.0.1:${port}/healthz`);
        const info = await fetch(`http://127.0.0.1:${port}/sandbox/api/info`, { headers: { authorization: basic } });
        expect(info.status).toBe(200);
        expect(await info.json()).toMatchObject({ channels: { whatsapp: { enabled: false }, 'wechat-kf': { enabled: true } } });
        // no fake Graph API for a real channel
        expect((await fetch(`http://127.0.0.1:${port}/sandbox/graph/v24.0/123`, { headers: { authorization: `Bearer ${REAL_WHATSAPP.WHATSAPP_ACCESS_TOKEN}` } })).status).toBe(401);
        expect((await fetch(`http://127.0.0.1:${port}/sandbox/graph/v24.0/123`, { headers: { authorization: basic } })).status).toBe(404);
        const sendWa = await fetch(`http://127.0.0.1:${port}/sandbox/api/messages`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'whatsapp', customer: '15550001111', text: 'hi' }) });
        expect(sendWa.status).toBe(409);
      } finally {
        app?.child.kill('SIGTERM');
        await app?.exited;
      }
      expect(app.output()).not.toContain(REAL_WHATSAPP.WHATSAPP_APP_SECRET);
    });

    it('outside sandbox mode the fake provider routes and the sandbox answer 404', async () => {
      const prefix = uniquePrefix('sbxatk');
      prefixes.push(prefix);
      const { app, producers } = plainApp(AUTH, prefix);
      for (const path of ['/sandbox', '/sandbox/graph/v24.0/123', '/sandbox/graph/media/1', '/sandbox/wecom/cgi-bin/gettoken?corpid=a&corpsecret=b', '/sandbox/api/info']) {
        expect((await request(app).get(path).set('Authorization', basic)).status).toBe(404);
        expect((await request(app).get(path)).status).toBe(404);
      }
      expect((await request(app).post('/sandbox/graph/v24.0/1/messages').send({ messaging_product: 'whatsapp', to: '1', type: 'text' })).status).toBe(404);
      expect((await request(app).post('/sandbox/wecom/cgi-bin/kf/sync_msg').send({})).status).toBe(404);
      await producers.close();
    });

    it('sends X-Frame-Options: DENY and a CSP with frame-ancestors none on every page', async () => {
      const prefix = uniquePrefix('sbxatk');
      prefixes.push(prefix);
      const producers = new Producers(redis, prefix);
      const sandbox = createSandbox({ log: silentLogger(), redis, producers, prefix, agentOnline: false });
      const app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'admin-attack-h' }), redis, producers, prefix, auth: AUTH, sandbox });
      for (const path of ['/admin', '/admin/queues', '/sandbox', '/sandbox/assets/sandbox.js', '/admin/overview.json']) {
        const res = await request(app).get(path).set('Authorization', basic);
        expect(res.status).toBe(200);
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
        expect(res.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
      // even the 401 of a missing login cannot be framed
      const denied = await request(app).get('/admin');
      expect(denied.status).toBe(401);
      expect(denied.headers['x-frame-options']).toBe('DENY');
      await producers.close();
    });

    it('with auth off, serves only loopback Host names (DNS rebinding, a port published by mistake)', async () => {
      const prefix = uniquePrefix('sbxatk');
      prefixes.push(prefix);
      const { app, producers } = plainApp(undefined, prefix);
      for (const host of ['evil.example', 'evil.example:3000', 'localhost.evil.example', '127.0.0.1.nip.io', '10.0.0.5:3000', '0.0.0.0:3000', '[::ffff:127.0.0.1]:3000', '']) {
        const res = await request(app).get('/admin/overview.json').set('Host', host);
        expect([403, 421]).toContain(res.status);
      }
      for (const host of ['localhost:3000', 'localhost', '127.0.0.1:3000', '127.0.0.2', '[::1]:3000', 'app.localhost:3000']) {
        expect((await request(app).get('/admin/overview.json').set('Host', host)).status).toBe(200);
      }
      // with auth on, any Host is served (behind the login)
      const authed = plainApp(AUTH, prefix);
      expect((await request(authed.app).get('/admin/overview.json').set('Host', 'gateway.example.com').set('Authorization', basic)).status).toBe(200);
      await authed.producers.close();
      await producers.close();
      expect(isLoopbackHost('127.0.0.1:3000')).toBe(true);
      expect(isLoopbackHost('127.0.0.999')).toBe(false);
      expect(isLoopbackHost(undefined)).toBe(false);
    });
  });
});
