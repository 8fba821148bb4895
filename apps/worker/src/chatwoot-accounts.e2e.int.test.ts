import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { accountsOfChannel, ConfigError, createMetricsRegistry, silentLogger, type InboundMessage } from '@switchboard/core';
import { chatwootInbound, chatwootSettings, type ChatwootEnv } from '@switchboard/channel-chatwoot/inbound';
import { closeWorkers, createRedis, Producers, waitReady } from '@switchboard/queue';
import {
  dropPrefix,
  fixtureJson,
  graphError,
  startFakeChatwoot,
  startFakeGraph,
  startFakeOpenAI,
  TELEGRAM_FIXTURE_BOT,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type FakeChatwoot,
  type FakeGraph,
  type FakeOpenAI,
} from '@switchboard/testkit';
import { createChatwootIngressApp } from '@switchboard/chatwoot-ingress/app';
import { buildWorkerDeps, loadAccountsFile, loadWorkerEnv, startRoles } from './compose.js';
import { mirrorTarget } from './channels.js';
import type { WorkerDeps } from './deps.js';

/**
 * Two Chatwoot instances in one deployment: instance A is the `default` account (environment),
 * instance B the file account `cw-b`. Both have Chatwoot account 7, bot inbox 5, mirror inbox 23 and
 * hand out the same conversation, contact and message ids, so every Redis key that forgot the
 * gateway account collides. The WhatsApp file account `wa-b` names `mirror: cw-b`; the default
 * WhatsApp account is mirrored into A (the Chatwoot `default` account mirrors).
 */
const SECRET_A = 'instance-a-secret';
const SECRET_B = 'instance-b-secret';
const MIRROR_INBOX = 23;
const BOT_INBOX = 5;
const WA_DEFAULT_PNID = '106540352242922';
const WA_B_PNID = '200000000000002';
const WA_B_TOKEN = 'wa-b-access-token';

type Payload = Record<string, unknown> & { conversation: Record<string, unknown> & { meta: Record<string, unknown> } };

describe('two Chatwoot instances side by side', () => {
  let a: FakeChatwoot;
  let b: FakeChatwoot;
  let graph: FakeGraph;
  let llm: FakeOpenAI;
  let deps: WorkerDeps;
  let workers: Worker[] = [];
  let ingress: ReturnType<typeof createChatwootIngressApp>;
  let accountsPath = '';
  const prefix = uniquePrefix('cwacc');
  const redis = createRedis(testRedisUrl(), 'worker');
  const producerRedis = createRedis(testRedisUrl(), 'worker');
  const ingressRedis = createRedis(testRedisUrl(), 'producer');
  const ingressProducers = new Producers(ingressRedis, prefix);
  let delivery = 0;
  const envOf = () =>
    loadWorkerEnv({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'error',
      OPENAI_API_KEY: 'sk-fake',
      OPENAI_BASE_URL: llm.url,
      WHATSAPP_ACCESS_TOKEN: 'wa-default-token',
      WHATSAPP_GRAPH_URL: graph.url,
      TURN_DEBOUNCE_MS: '100',
      TURN_MAX_WAIT_MS: '400',
      WORKER_CONCURRENCY: '8',
      CHATWOOT_URL: a.url,
      CHATWOOT_ACCOUNT_ID: String(a.accountId),
      CHATWOOT_BOT_TOKEN: a.botToken,
      CHATWOOT_API_TOKEN: a.userToken,
      CHATWOOT_BOT_ID: '4',
      CHATWOOT_WEBHOOK_SECRET: SECRET_A,
      CHATWOOT_MIRROR_INBOX_ID: String(MIRROR_INBOX),
    });

  beforeAll(async () => {
    [a, b, graph, llm] = await Promise.all([
      startFakeChatwoot({ botToken: 'a-bot-token', userToken: 'a-user-token', webhookSecret: SECRET_A }),
      startFakeChatwoot({ botToken: 'b-bot-token', userToken: 'b-user-token', webhookSecret: SECRET_B }),
      startFakeGraph(),
      startFakeOpenAI(),
    ]);
    llm.setReply((req) => {
      const last = [...req.messages].reverse().find((m) => m.role === 'user');
      const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
      return `Bot answer to: ${text.slice(-60)}`;
    });
    const dir = mkdtempSync(join(tmpdir(), 'cw-accounts-'));
    accountsPath = join(dir, 'accounts.yaml');
    writeFileSync(
      accountsPath,
      [
        'accounts:',
        '  - id: cw-b',
        '    channel: chatwoot',
        `    url: ${b.url}/`,
        '    accountId: "7"',
        '    botToken: ${CW_B_BOT_TOKEN}',
        `    apiToken: ${b.userToken}`,
        `    webhookSecret: [${SECRET_B}, previous-b-secret]`,
        `    mirrorInboxId: "${MIRROR_INBOX}"`,
        '    botId: 4',
        '  - id: wa-b',
        '    channel: whatsapp',
        '    appSecret: wa-b-app-secret',
        `    accessToken: ${WA_B_TOKEN}`,
        '    verifyToken: wa-b-verify',
        `    phoneNumberIds: ["${WA_B_PNID}"]`,
        '    mirror: cw-b',
      ].join('\n'),
    );
    const env = envOf();
    const accountsFile = loadAccountsFile({ ACCOUNTS_FILE: accountsPath }, { CW_B_BOT_TOKEN: b.botToken });
    deps = buildWorkerDeps(env, redis, producerRedis, silentLogger(), { accountsFile: accountsFile! });
    workers = startRoles(deps, ['inbound', 'agent', 'outbound', 'mirror']);
    await waitReady(ingressRedis);
    const settings = chatwootSettings({
      CHATWOOT_URL: a.url,
      CHATWOOT_ACCOUNT_ID: a.accountId,
      CHATWOOT_BOT_ID: 4,
      CHATWOOT_WEBHOOK_SECRET: [SECRET_A],
      CHATWOOT_MIRROR_INBOX_ID: MIRROR_INBOX,
    } satisfies Partial<ChatwootEnv>);
    // the file's Chatwoot accounts exactly as chatwoot-ingress reads them (runIngress)
    const accounts = accountsOfChannel(accountsFile, 'chatwoot', chatwootInbound.accountFile, {});
    ingress = createChatwootIngressApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'cw-accounts' }), producers: ingressProducers, redis: ingressRedis, prefix, settings, accounts });
  });

  afterAll(async () => {
    await closeWorkers(workers, 5000);
    await deps.producers.close();
    await deps.close();
    await ingressProducers.close();
    await Promise.all([a.close(), b.close(), graph.close(), llm.close()]);
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    for (const r of [redis, producerRedis, ingressRedis]) r.disconnect();
  });

  /** Posts a webhook signed by `from` (compact JSON) to `path`; returns the HTTP answer. */
  function post(path: string, payload: unknown, from: FakeChatwoot, deliveryId = `d-${++delivery}`) {
    const body = JSON.stringify(payload);
    return request(ingress).post(path).set('content-type', 'application/json').set('x-chatwoot-delivery', deliveryId).set(from.signWebhook(body)).send(body);
  }
  const routeOf = (instance: FakeChatwoot) => (instance === a ? '/webhooks/chatwoot' : '/webhooks/chatwoot/cw-b');
  async function webhook(instance: FakeChatwoot, payload: unknown, deliveryId?: string) {
    const res = await post(routeOf(instance), payload, instance, deliveryId);
    expect(res.status).toBe(200);
    return res.body as { status: string; enqueued: number };
  }

  function customerMessage(conversationId: number, messageId: number, content: string): Payload {
    const base = fixtureJson<Payload>('chatwoot', 'message_created.incoming_contact_with_image.json');
    const { attachments: _a, ...rest } = base;
    return { ...rest, id: messageId, content, inbox: { id: BOT_INBOX, name: 'Website' }, conversation: { ...base.conversation, id: conversationId, inbox_id: BOT_INBOX } };
  }

  const botReplies = (instance: FakeChatwoot, conversationId: number) => instance.messagesIn(conversationId).filter((m) => m.token === 'bot' && !m.private && m.message_type === 1);
  const tokensUsed = (instance: FakeChatwoot) => new Set(instance.requests.map((r) => r.headers['api_access_token']));
  const settle = (ms = 800) => new Promise((r) => setTimeout(r, ms));

  it("a webhook is verified with its own instance's secrets only; an unknown account is 404", async () => {
    const payload = customerMessage(390, 6390, 'hello');
    expect((await post('/webhooks/chatwoot/cw-b', payload, a)).status).toBe(401);
    expect((await post('/webhooks/chatwoot', payload, b)).status).toBe(401);
    expect((await post('/webhooks/chatwoot/cw-c', payload, b)).status).toBe(404);
    expect((await post('/webhooks/chatwoot/cw-b', payload, a)).body).not.toHaveProperty('enqueued');
  });

  it("a customer message on each instance's bot inbox is answered there, with that instance's bot token only", async () => {
    // the same conversation, contact, message and delivery ids on both instances
    for (const instance of [a, b]) instance.addConversation({ id: 401, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    expect(await webhook(a, customerMessage(401, 7001, 'Where is my order 4821?'), 'delivery-1')).toEqual({ status: 'enqueued', enqueued: 1 });
    expect(await webhook(b, customerMessage(401, 7001, 'Wo ist meine Bestellung 4821?'), 'delivery-1')).toEqual({ status: 'enqueued', enqueued: 1 });
    await waitFor(() => botReplies(a, 401).length === 1 && botReplies(b, 401).length === 1, 15_000, 'one bot reply on each instance');
    await settle();
    expect(botReplies(a, 401).map((m) => m.content)).toEqual([expect.stringContaining('Where is my order')]);
    expect(botReplies(b, 401).map((m) => m.content)).toEqual([expect.stringContaining('Wo ist meine Bestellung')]);
    expect(tokensUsed(a)).toEqual(new Set([a.botToken]));
    expect(tokensUsed(b)).toEqual(new Set([b.botToken]));
  });

  it("a human agent's reply in B's bot conversation opens it in B only", async () => {
    for (const instance of [a, b]) instance.addConversation({ id: 408, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    const human = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
    const pendingConv = { ...human.conversation, id: 408, inbox_id: BOT_INBOX, status: 'pending', meta: { ...human.conversation.meta, assignee: null, assignee_type: null } };
    expect((await webhook(b, { ...human, id: 9408, inbox: { id: BOT_INBOX, name: 'Website' }, conversation: pendingConv })).status).toBe('enqueued');
    await waitFor(() => b.conversations.get(408)?.status === 'open', 15_000, 'B opened');
    await settle();
    expect(b.requests.find((r) => r.path.endsWith('/conversations/408/toggle_status'))?.headers['api_access_token']).toBe(b.botToken);
    expect(a.requests.some((r) => r.path.includes('/conversations/408/'))).toBe(false);
    expect(a.conversations.get(408)?.status).toBe('pending');
  });

  describe('mirror routing', () => {
    const customer = (accountId: string | undefined, pnid: string, user: string) => ({
      channel: 'whatsapp' as const,
      ...(accountId ? { accountId } : {}),
      account: pnid,
      userId: user,
      address: user,
      displayName: `Customer ${user.slice(-3)}`,
    });
    const defaultCustomer = customer(undefined, WA_DEFAULT_PNID, '4915112345678');
    const bCustomer = customer('wa-b', WA_B_PNID, '4915187654321');
    const mirrorConvs = (instance: FakeChatwoot) => [...instance.conversations.values()].filter((c) => c.inbox_id === MIRROR_INBOX);

    function waMessage(ref: typeof defaultCustomer, i: number, text: string): InboundMessage {
      const prefix = ref.accountId ? `${ref.accountId}.` : '';
      return { kind: 'message', eventId: `${prefix}wa-${ref.account}-wamid.acc${i}`, providerMessageId: `wamid.acc${i}`, conversation: ref, sentAt: Date.now(), receivedAt: Date.now(), content: { type: 'text', text }, author: 'customer' };
    }

    function humanReply(instance: FakeChatwoot, messageId: number, content: string): Payload {
      const base = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
      const conv = mirrorConvs(instance)[0]!;
      return {
        ...base,
        id: messageId,
        content,
        inbox: { id: MIRROR_INBOX, name: 'WhatsApp (gateway)' },
        conversation: { ...base.conversation, id: conv.id, inbox_id: MIRROR_INBOX, contact_inbox: { contact_id: conv.contact_id, source_id: conv.source_id } },
      };
    }

    /** The agent writes in a mirror conversation of `instance` (the message exists there), then the webhook arrives. */
    async function agentWrites(instance: FakeChatwoot, content: string): Promise<number> {
      const conv = mirrorConvs(instance)[0]!;
      const res = await request(instance.url).post(`/api/v1/accounts/${instance.accountId}/conversations/${conv.id}/messages`).set('api_access_token', instance.userToken).send({ content, message_type: 'outgoing' });
      const id = (res.body as { id: number }).id;
      await webhook(instance, humanReply(instance, id, content));
      return id;
    }

    it('routes by the `mirror` key, else to the default Chatwoot account', () => {
      expect(mirrorTarget(deps, bCustomer)?.account.accountId).toBe('cw-b');
      expect(mirrorTarget(deps, defaultCustomer)?.account.accountId).toBe('default');
      expect(mirrorTarget(deps, { channel: 'chatwoot', accountId: 'cw-b' })).toBeUndefined();
    });

    it("wa-b's conversation is mirrored into B's mirror inbox, the default WhatsApp one into A's", async () => {
      await ingressProducers.enqueue('inbound', waMessage(bCustomer, 1, 'question for shop B'), { jobId: 'acc-b-1' });
      await waitFor(() => graph.sent.some((m) => m.phoneNumberId === WA_B_PNID), 15_000, "wa-b's reply");
      await waitFor(() => mirrorConvs(b).length === 1 && b.messages.some((m) => m.token === 'user' && m.message_type === 1 && !m.private), 15_000, 'mirrored into B');
      await ingressProducers.enqueue('inbound', waMessage(defaultCustomer, 2, 'question for the default shop'), { jobId: 'acc-default-2' });
      await waitFor(() => mirrorConvs(a).length === 1 && a.messages.some((m) => m.token === 'user' && m.message_type === 1 && !m.private), 15_000, 'mirrored into A');
      await settle();
      // the same Chatwoot conversation and contact ids on both instances: the mappings are kept apart
      expect(mirrorConvs(a)).toHaveLength(1);
      expect(mirrorConvs(b)).toHaveLength(1);
      expect(mirrorConvs(a)[0]!.id).toBe(mirrorConvs(b)[0]!.id);
      expect(b.messagesIn(mirrorConvs(b)[0]!.id).map((m) => m.content)).toContain('question for shop B');
      expect(a.messages.some((m) => m.content === 'question for shop B')).toBe(false);
      expect(b.messages.some((m) => m.content === 'question for the default shop')).toBe(false);
      expect(mirrorConvs(b)[0]!.source_id).toBe(`sb:wa:${WA_B_PNID}:4915187654321:wa-b`);
      expect(b.contacts.map((c) => c.identifier)).toEqual(['wa:4915187654321']);
      expect(tokensUsed(b)).toEqual(new Set([b.botToken, b.userToken]));
      expect(graph.sent.find((m) => m.phoneNumberId === WA_B_PNID)?.authorization).toBe(`Bearer ${WA_B_TOKEN}`);
    });

    it("a human agent's reply in B's mirror inbox reaches wa-b's customer through wa-b, once", async () => {
      const before = graph.sent.length;
      await agentWrites(b, 'Hi, Maria from shop B here.');
      await waitFor(() => graph.textsTo(bCustomer.userId).some((t) => t.includes('Maria from shop B')), 15_000, 'relayed reply');
      await settle(1200);
      const relayed = graph.sent.slice(before).filter((m) => JSON.stringify(m.body).includes('Maria from shop B'));
      expect(relayed).toHaveLength(1);
      expect(relayed[0]).toMatchObject({ phoneNumberId: WA_B_PNID, authorization: `Bearer ${WA_B_TOKEN}` });
      expect(graph.textsTo(defaultCustomer.userId).some((t) => t.includes('Maria'))).toBe(false);
      // and A's mirror conversation with the same id still belongs to the default customer
      await agentWrites(a, 'Hello from the default desk.');
      await waitFor(() => graph.textsTo(defaultCustomer.userId).some((t) => t.includes('default desk')), 15_000, "A's relayed reply");
      expect(graph.sent.find((m) => JSON.stringify(m.body).includes('default desk'))?.phoneNumberId).toBe(WA_DEFAULT_PNID);
    });

    it('a failed delivery of a reply typed in B is reported on B only', async () => {
      graph.failNext(1, graphError(131047, 'Re-engagement message'));
      const aPatches = () => a.requests.filter((r) => r.method === 'PATCH').length;
      const patchesBefore = aPatches();
      const id = await agentWrites(b, 'Are you still there?');
      await waitFor(() => b.messages.find((m) => m.id === id)?.status === 'failed', 15_000, 'failure report on B');
      await waitFor(() => b.messagesIn(mirrorConvs(b)[0]!.id).some((m) => m.private && /not delivered/.test(m.content ?? '')), 5000, 'failure note on B');
      await settle();
      expect(aPatches()).toBe(patchesBefore);
      expect(a.messages.some((m) => m.private && /not delivered/.test(m.content ?? ''))).toBe(false);
    });
  });

  it('a `mirror` key that names no mirroring account stops the worker with a clear problem', () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'cw-accounts-bad-')), 'accounts.yaml');
    writeFileSync(bad, ['accounts:', '  - id: tg-shop', '    channel: telegram', `    botToken: "${TELEGRAM_FIXTURE_BOT.token}"`, `    webhookSecret: ${TELEGRAM_FIXTURE_BOT.webhookSecret}`, '    mirror: cw-nope'].join('\n'));
    const file = loadAccountsFile({ ACCOUNTS_FILE: bad }, {});
    const build = () => buildWorkerDeps(envOf(), redis, producerRedis, silentLogger(), { accountsFile: file! });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/accounts\[0\] \(tg-shop\)\.mirror: "cw-nope" is not an account that mirrors conversations/);
  });
});
