import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { accountsOfChannel, conversationId, createMetricsRegistry, readAccountsFile, silentLogger, type OutboundJob } from '@switchboard/core';
import { wechatInbound } from '@switchboard/channel-wechat-kf/inbound';
import { CursorStore } from '@switchboard/channel-wechat-kf/outbound';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { encryptWechatCallback, FakeWecom, kfCallbackXml, waitFor, WECHAT_TEST_CONFIG, type FakeChatRequest, type WechatCallbackKeys } from '@switchboard/testkit';
import { createWechatIngressApp } from '@switchboard/wechat-ingress/app';
import { startPipeline, type Pipeline } from './testing/harness';
import { accountFor } from './channels';

jest.setTimeout(90_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const textOf = (m: { body: Record<string, unknown> }) => (m.body['text'] as { content: string }).content;
let userSeq = 0;
const newUser = (tag: string) => `wm${tag}user${++userSeq}x${Date.now()}`;

/** The account `default` (WECHAT_* variables) and two ACCOUNTS_FILE corps, each with its own keys. */
const DEFAULT: WechatCallbackKeys = WECHAT_TEST_CONFIG;
const A = { id: 'shop-a', corpId: 'wwa1a1a1a1a1a1a1a1', token: 'shopAcallbackToken', encodingAESKey: 'VALRKUBTDlLwFuKkmtpiy5T3WQi0z2INbBNAYC2cbkE', secretVar: 'SB_TEST_WX_SHOP_A_SECRET' };
const B = { id: 'shop-b', corpId: 'wwb2b2b2b2b2b2b2b2', token: 'shopBcallbackToken', encodingAESKey: 'wjoAC35GbPfcf33GtA30UnNtr2pNA2erYQ6guvH4UUj', secretVar: 'SB_TEST_WX_SHOP_B_SECRET' };
const KF_DEFAULT = 'wkAccDefault00000000000000000001';
const KF_A = 'wkAccShopA0000000000000000000001';
const KF_B = 'wkAccShopB0000000000000000000001';
const WELCOME_A = '欢迎光临 A 店！';
const WELCOME_DEFAULT = '默认欢迎语';

/**
 * Several WeCom corps in one deployment: the account `default` from WECHAT_*, `shop-a` and `shop-b`
 * from an ACCOUNTS_FILE (secrets as `${ENV}` references), one fake WeCom serving all three corps,
 * wechat-ingress with every account's route, and the worker's single wechat-sync consumer.
 */
describe('WeChat Kefu: several corps side by side (real Redis, fake WeCom and OpenAI)', () => {
  let p: Pipeline;
  let fake: FakeWecom;
  let corpA: FakeWecom;
  let corpB: FakeWecom;
  let server: Server;
  let ingressUrl = '';
  let ingressRedis: RedisClient;
  let ingressProducers: Producers;
  let dir: string;

  beforeAll(async () => {
    fake = await FakeWecom.start({ corpId: DEFAULT.corpId });
    corpA = fake.addCorp({ corpId: A.corpId, secret: 'secret-of-shop-a' });
    corpB = fake.addCorp({ corpId: B.corpId, secret: 'secret-of-shop-b' });
    dir = mkdtempSync(join(tmpdir(), 'sb-wx-accounts-'));
    writeFileSync(join(dir, 'agent-b.yaml'), 'businessName: Shop B Imports\nprompt:\n  system: You are PERSONA-B, the assistant of {business}.\n');
    writeFileSync(
      join(dir, 'accounts.yaml'),
      [
        'accounts:',
        `  - id: ${A.id}`,
        '    channel: wechat-kf',
        `    corpId: ${A.corpId}`,
        `    secret: \${${A.secretVar}}`,
        `    token: ${A.token}`,
        `    aesKey: ${A.encodingAESKey}`,
        `    welcomeText: ${WELCOME_A}`,
        '    handoffServicer: alice',
        `  - id: ${B.id}`,
        '    channel: wechat-kf',
        `    corpId: ${B.corpId}`,
        `    secret: \${${B.secretVar}}`,
        `    token: ${B.token}`,
        `    aesKey: ${B.encodingAESKey}`,
        '    agent: agent-b.yaml',
        '',
      ].join('\n'),
    );
    // the worker resolves ${NAME} from its process environment
    process.env[A.secretVar] = corpA.secret;
    process.env[B.secretVar] = corpB.secret;
    p = await startPipeline({
      env: {
        WECHAT_TOKEN: DEFAULT.token,
        WECHAT_AESKEY: DEFAULT.encodingAESKey,
        WECHAT_CORP_ID: DEFAULT.corpId,
        WECHAT_SECRET: fake.secret,
        WECHAT_API_URL: fake.url,
        WECHAT_WELCOME_TEXT: WELCOME_DEFAULT,
        WECHAT_SYNC_LOCK_MS: '1000',
        ACCOUNTS_FILE: join(dir, 'accounts.yaml'),
      },
    });
    ingressRedis = createRedis(p.env.REDIS_URL, 'producer');
    ingressRedis.on('error', () => undefined);
    await waitReady(ingressRedis);
    ingressProducers = new Producers(ingressRedis, p.prefix);
    const file = readAccountsFile(join(dir, 'accounts.yaml'));
    const app = createWechatIngressApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'wechat-accounts-e2e' }),
      producers: ingressProducers,
      redis: ingressRedis,
      settings: { token: DEFAULT.token, aesKey: DEFAULT.encodingAESKey, corpId: DEFAULT.corpId, timestampWindowSec: 300, maxBodyBytes: 65536 },
      accounts: accountsOfChannel(file, 'wechat-kf', wechatInbound.accountFile, { WECHAT_TIMESTAMP_WINDOW_SEC: 300, WECHAT_MAX_BODY_BYTES: 65536 }),
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    ingressUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    p.openai.setReply((req) => {
      const last = lastUserText(req);
      if (/escalate/i.test(last) && req.tools?.some((t) => t.function.name === 'handoff_to_human')) {
        return { content: null, tool_calls: [{ name: 'handoff_to_human', arguments: { reason: 'customer asked for a person', summary: 'wants a person' } }] };
      }
      return `fake reply to: ${last}`;
    });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    await ingressProducers.close();
    ingressRedis.disconnect();
    await p.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env[A.secretVar];
    delete process.env[B.secretVar];
  });

  function lastUserText(req: FakeChatRequest): string {
    const last = [...req.messages].reverse().find((m) => m.role === 'user');
    return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  }

  /** The POST WeCom makes when a customer of `corp` writes: encrypted and signed with `keys`, to `route`. */
  async function post(route: string, keys: WechatCallbackKeys, xml: string, opts: Parameters<typeof encryptWechatCallback>[2] = {}): Promise<{ status: number; text: string }> {
    const cb = encryptWechatCallback(keys, xml, opts);
    const res = await fetch(`${ingressUrl}/webhooks/wechat-kf${route}${cb.search}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.body });
    return { status: res.status, text: await res.text() };
  }

  const callbackOf = (corp: FakeWecom, kf: string) => kfCallbackXml({ corpId: corp.corpId, token: corp.callbackToken(), openKfId: kf });
  const notifyA = () => post(`/${A.id}`, A, callbackOf(corpA, KF_A));
  const notifyB = () => post(`/${B.id}`, B, callbackOf(corpB, KF_B));
  const notifyDefault = () => post('', DEFAULT, callbackOf(fake, KF_DEFAULT));

  async function syncJobs(): Promise<number> {
    const q = new Queue('wechat-sync', { connection: p.deps.redis, prefix: p.prefix });
    try {
      return Object.values(await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized')).reduce((a, b) => a + b, 0);
    } finally {
      await q.close();
    }
  }

  it('the worker opens every corp and runs exactly one wechat-sync consumer for all of them (also after a restart)', async () => {
    for (const id of ['default', A.id, B.id]) expect(accountFor(p.deps, { channel: 'wechat-kf', accountId: id })?.adapter).toBeDefined();
    expect(p.workers.filter((w) => w.name === 'wechat-sync')).toHaveLength(1);
    await p.restartWorkers();
    expect(p.workers.filter((w) => w.name === 'wechat-sync')).toHaveLength(1);
  });

  it("a callback signed and encrypted for corp A posted to corp B's route is refused; an unknown account is 404", async () => {
    const before = await syncJobs();
    const xmlA = callbackOf(corpA, KF_A);
    // A's token and key on B's route: the signature does not check out with B's token
    const crossed = await post(`/${B.id}`, A, xmlA);
    expect(crossed.status).toBe(401);
    expect(crossed.text).not.toBe('success');
    // signed with B's token but encrypted for corp A: B's key or receive id refuses it
    const resigned = await post(`/${B.id}`, A, xmlA, { signWith: B.token });
    expect(resigned.status).toBe(403);
    // B's key, but the receive id of corp A inside
    const wrongCorp = await post(`/${B.id}`, B, kfCallbackXml({ corpId: A.corpId, token: corpB.callbackToken(), openKfId: KF_B }), { receiveId: A.corpId });
    expect(wrongCorp).toMatchObject({ status: 403 });
    // the default route does not take A's callbacks either
    expect((await post('', A, xmlA)).status).toBe(401);
    expect((await post('/nope', A, xmlA)).status).toBe(404);
    expect(await syncJobs()).toBe(before);
    // the same callback on its own route is accepted
    expect(await post(`/${A.id}`, A, xmlA)).toEqual({ status: 200, text: 'success' });
  });

  it("a customer on each corp: pulled with that corp's token, answered through that corp's send_msg, cursors and token cache per corp", async () => {
    const ua = newUser('A');
    const ub = newUser('B');
    const ud = newUser('D');
    corpA.customerText(KF_A, ua, 'A 店的订单 1111 到哪了？');
    corpB.customerText(KF_B, ub, 'B shop order 2222 status?');
    fake.customerText(KF_DEFAULT, ud, '默认账号 3333');
    const answers = await Promise.all([notifyA(), notifyB(), notifyDefault()]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await waitFor(() => corpA.sentTo(ua).length === 1 && corpB.sentTo(ub).length === 1 && fake.sentTo(ud).length === 1, 20_000, 'one reply on each corp');
    expect(textOf(corpA.sentTo(ua)[0]!)).toContain('1111');
    expect(textOf(corpB.sentTo(ub)[0]!)).toContain('2222');
    expect(textOf(fake.sentTo(ud)[0]!)).toContain('3333');
    // nobody answered through another corp
    expect([...corpB.sentTo(ua), ...fake.sentTo(ua), ...corpA.sentTo(ub), ...fake.sentTo(ub), ...corpA.sentTo(ud), ...corpB.sentTo(ud)]).toHaveLength(0);
    expect(corpA.callsTo('kf/sync_msg').some((c) => (c.body as { open_kfid?: string }).open_kfid === KF_A)).toBe(true);
    expect(corpB.callsTo('kf/sync_msg').some((c) => (c.body as { open_kfid?: string }).open_kfid === KF_B)).toBe(true);
    const kfOf = (c: { body: unknown }) => (c.body as { open_kfid?: string } | undefined)?.open_kfid;
    expect(corpA.calls.filter((c) => kfOf(c) !== undefined && kfOf(c) !== KF_A)).toEqual([]);
    expect(corpB.calls.filter((c) => kfOf(c) !== undefined && kfOf(c) !== KF_B)).toEqual([]);
    // gettoken once per corp with its own corpid; each corp's calls use the token that corp issued
    for (const [corp, id] of [[corpA, A.corpId], [corpB, B.corpId], [fake, DEFAULT.corpId]] as const) {
      expect(corp.tokensIssued).toBe(1);
      expect(corp.callsTo('gettoken').map((c) => c.query['corpid'])).toEqual([id]);
      const cached = JSON.parse((await p.deps.redis.get(p.deps.keys.wechat.token(id)))!) as { t: string };
      const used = new Set(corp.calls.filter((c) => c.api !== 'gettoken').map((c) => c.query['access_token']));
      expect([...used]).toEqual([cached.t]);
    }
    expect([...fake.calls, ...corpA.calls, ...corpB.calls].filter((c) => c.errcode === 40014 || c.errcode === 95007)).toHaveLength(0);
    // cursors per corp + open_kfid
    const cursors = new CursorStore(p.deps.redis, p.deps.keys);
    expect(await cursors.get(A.corpId, KF_A)).toEqual(expect.any(String));
    expect(await cursors.get(B.corpId, KF_B)).toEqual(expect.any(String));
    expect(await cursors.get(DEFAULT.corpId, KF_DEFAULT)).toEqual(expect.any(String));
    expect(await cursors.get(A.corpId, KF_B)).toBeUndefined();
    expect(await cursors.get(B.corpId, KF_A)).toBeUndefined();
    // the events carried their account: the replies went out as that account's conversations
    const outbound = new Queue('outbound-wechat-kf', { connection: p.deps.redis, prefix: p.prefix });
    try {
      const refs = (await outbound.getCompleted()).map((j) => (j.data as OutboundJob).ref);
      expect(refs.find((r) => r.userId === ua)).toMatchObject({ account: KF_A, accountId: A.id });
      expect(refs.find((r) => r.userId === ub)).toMatchObject({ account: KF_B, accountId: B.id });
      expect(refs.find((r) => r.userId === ud)?.accountId).toBeUndefined();
    } finally {
      await outbound.close();
    }
    // shop-b's own agent (its AGENT_CONFIG) answered shop-b's customer, the deployment's agent the others
    const systemOf = (needle: string) => p.openai.requests.find((r) => lastUserText(r).includes(needle))?.messages.find((m) => m.role === 'system')?.content;
    expect(systemOf('2222')).toEqual(expect.stringContaining('PERSONA-B'));
    expect(systemOf('1111')).not.toEqual(expect.stringContaining('PERSONA-B'));
    // metrics name the account
    const metrics = await p.deps.registry.metrics();
    expect(metrics).toMatch(new RegExp(`sb_wechat_sync_total\\{[^}]*account="${A.id}"`));
    expect(metrics).toMatch(new RegExp(`sb_wechat_sync_total\\{[^}]*account="${B.id}"`));
  });

  it('the welcome text and the handoff servicer are per account', async () => {
    const now = Math.floor(Date.now() / 1000);
    const ua = newUser('A');
    const ub = newUser('B');
    const codeA = `WCa${Date.now()}`;
    const codeB = `WCb${Date.now()}`;
    const enter = (kf: string, user: string, code: string) => ({ msgid: `enter${code}`, send_time: now, origin: 4, msgtype: 'event', event: { event_type: 'enter_session', open_kfid: kf, external_userid: user, scene: 'qr', welcome_code: code } });
    corpA.addMessages(KF_A, [enter(KF_A, ua, codeA)]);
    corpB.addMessages(KF_B, [enter(KF_B, ub, codeB)]);
    await Promise.all([notifyA(), notifyB()]);
    await waitFor(() => corpA.sentOnEvent.some((w) => w.code === codeA), 15_000, "A's welcome");
    expect(corpA.sentOnEvent.find((w) => w.code === codeA)).toMatchObject({ msgtype: 'text', body: { text: { content: WELCOME_A } } });
    await sleep(800);
    // shop-b has no welcomeText (the default account's WECHAT_WELCOME_TEXT is not inherited)
    expect(corpB.sentOnEvent).toHaveLength(0);

    // handoff: shop-a names a servicer (state 3 to alice), shop-b has none (the WeCom queue, state 2)
    corpA.customerText(KF_A, ua, 'please escalate me');
    corpB.customerText(KF_B, ub, 'please escalate me');
    await Promise.all([notifyA(), notifyB()]);
    await waitFor(() => corpA.serviceState(KF_A, ua) === 3 && corpB.serviceState(KF_B, ub) === 2, 20_000, 'both handed off');
    expect(corpA.transitions.filter((t) => t.userId === ua)).toEqual([{ openKfId: KF_A, userId: ua, from: 0, to: 3, servicer: 'alice' }]);
    expect(corpB.transitions.filter((t) => t.userId === ub)).toEqual([{ openKfId: KF_B, userId: ub, from: 0, to: 2 }]);
    // the conversation key carries the account: the human owner is recorded on shop-a's conversation
    const convA = conversationId({ channel: 'wechat-kf', accountId: A.id, account: KF_A, userId: ua });
    await waitFor(async () => (await p.deps.redis.exists(p.deps.keys.owner(convA))) === 1, 10_000, "shop-a's conversation owned by a human");
  });

  it('a job queued before accounts existed (no account id) is the default corp\'s; a job of an unknown account or of another corp fails for good', async () => {
    const ud = newUser('D');
    fake.customerText(KF_DEFAULT, ud, 'legacy job 4444');
    await p.deps.producers.enqueue('wechat-sync', { corpId: DEFAULT.corpId, openKfId: KF_DEFAULT, token: fake.callbackToken(), receivedAt: Date.now() }, { jobId: `wxs-legacy-${Date.now()}` });
    await waitFor(() => fake.sentTo(ud).length === 1, 15_000, 'the legacy job answered on the default corp');
    expect(textOf(fake.sentTo(ud)[0]!)).toContain('4444');

    const pullsOfB = corpB.callsTo('kf/sync_msg').length;
    const ghost = `wxs-ghost-${Date.now()}`;
    const mismatch = `wxs-mismatch-${Date.now()}`;
    await p.deps.producers.enqueue('wechat-sync', { accountId: 'ghost', corpId: B.corpId, openKfId: KF_B, receivedAt: Date.now() }, { jobId: ghost });
    await p.deps.producers.enqueue('wechat-sync', { accountId: A.id, corpId: B.corpId, openKfId: KF_B, receivedAt: Date.now() }, { jobId: mismatch });
    const q = new Queue('wechat-sync', { connection: p.deps.redis, prefix: p.prefix });
    try {
      await waitFor(async () => (await q.getFailed()).filter((j) => j.id === ghost || j.id === mismatch).length === 2, 15_000, 'both jobs failed');
      const failed = await q.getFailed();
      const g = failed.find((j) => j.id === ghost)!;
      const m = failed.find((j) => j.id === mismatch)!;
      expect(g.failedReason).toContain('"ghost"');
      expect(g.failedReason).toContain('does not serve');
      expect(g.attemptsMade).toBe(1);
      expect(m.failedReason).toContain(`"${A.id}"`);
      expect(m.attemptsMade).toBe(1);
      for (const reason of [g.failedReason, m.failedReason]) {
        expect(reason).not.toContain(corpA.secret);
        expect(reason).not.toContain(corpB.secret);
      }
    } finally {
      await q.close();
    }
    expect(corpB.callsTo('kf/sync_msg')).toHaveLength(pullsOfB);
    expect(corpA.callsTo('kf/sync_msg').filter((c) => (c.body as { open_kfid?: string }).open_kfid === KF_B)).toHaveLength(0);
  });
});
