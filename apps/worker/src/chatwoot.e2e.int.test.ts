import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createMetricsRegistry, silentLogger, type InboundMessage } from '@switchboard/core';
import { chatwootSettings, type ChatwootEnv } from '@switchboard/channel-chatwoot/inbound';
import { closeWorkers, createRedis, Producers, waitReady } from '@switchboard/queue';
import {
  dropPrefix,
  fixtureJson,
  graphError,
  signChatwoot,
  startFakeChatwoot,
  startFakeGraph,
  startFakeOpenAI,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type FakeChatwoot,
  type FakeGraph,
  type FakeOpenAI,
} from '@switchboard/testkit';
import { createChatwootIngressApp } from '@switchboard/chatwoot-ingress/app';
import { buildWorkerDeps, loadWorkerEnv, startRoles } from './compose.js';
import { mirrorChannel } from './channels.js';
import type { WorkerDeps } from './deps.js';

/**
 * The whole Chatwoot pipeline in one process: chatwoot-ingress (supertest) → inbound → turn (agent
 * on a fake OpenAI) → outbound-chatwoot / outbound-whatsapp → fake Chatwoot / fake Graph, plus the
 * mirror role; real Redis under a unique prefix.
 */
const SECRET = 'e2e-chatwoot-secret';
const MIRROR_INBOX = 23;
const BOT_INBOX = 5;
const WA_ACCOUNT = '106540352242922';
const WA_USER = '4915112345678';
const WABA = '5566770001';

type Payload = Record<string, unknown> & { conversation: Record<string, unknown> & { meta: Record<string, unknown> } };

describe('chatwoot end to end', () => {
  let cw: FakeChatwoot;
  let graph: FakeGraph;
  let llm: FakeOpenAI;
  let deps: WorkerDeps;
  let workers: Worker[] = [];
  let ingress: ReturnType<typeof createChatwootIngressApp>;
  const prefix = uniquePrefix('cwe');
  const redis = createRedis(testRedisUrl(), 'worker');
  const producerRedis = createRedis(testRedisUrl(), 'worker');
  const ingressRedis = createRedis(testRedisUrl(), 'producer');
  const ingressProducers = new Producers(ingressRedis, prefix);
  let delivery = 0;

  beforeAll(async () => {
    [cw, graph, llm] = await Promise.all([startFakeChatwoot(), startFakeGraph(), startFakeOpenAI()]);
    llm.setReply((req) => {
      const last = [...req.messages].reverse().find((m) => m.role === 'user');
      const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
      if (/escalate/i.test(text) && req.tools?.some((t) => t.function.name === 'handoff_to_human')) {
        return { content: null, tool_calls: [{ name: 'handoff_to_human', arguments: { reason: 'damaged parcel needs a refund decision', summary: 'Order 4821 arrived damaged.' } }] };
      }
      return `Bot answer to: ${text.slice(-60)}`;
    });
    graph.templates.set(WABA, [{ id: '301', name: 'order_update', language: 'en_US', status: 'APPROVED', category: 'UTILITY', components: [{ type: 'BODY', text: 'Hi {{1}}, your order {{2}} has shipped.' }] }]);
    const cwEnv = {
      CHATWOOT_URL: cw.url,
      CHATWOOT_ACCOUNT_ID: String(cw.accountId),
      CHATWOOT_BOT_TOKEN: cw.botToken,
      CHATWOOT_API_TOKEN: cw.userToken,
      CHATWOOT_BOT_ID: '4',
      CHATWOOT_WEBHOOK_SECRET: SECRET,
      CHATWOOT_MIRROR_INBOX_ID: String(MIRROR_INBOX),
    };
    const env = loadWorkerEnv({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'error',
      OPENAI_API_KEY: 'sk-fake',
      OPENAI_BASE_URL: llm.url,
      WHATSAPP_ACCESS_TOKEN: 'wa-token',
      WHATSAPP_GRAPH_URL: graph.url,
      WHATSAPP_WABA_ID: WABA,
      TURN_DEBOUNCE_MS: '100',
      TURN_MAX_WAIT_MS: '400',
      WORKER_CONCURRENCY: '8',
      ...cwEnv,
    });
    deps = buildWorkerDeps(env, redis, producerRedis, silentLogger());
    expect(mirrorChannel(deps)).toBe('chatwoot');
    workers = startRoles(deps, ['inbound', 'agent', 'outbound', 'mirror']);
    await waitReady(ingressRedis);
    const settings = chatwootSettings({
      CHATWOOT_URL: cw.url,
      CHATWOOT_ACCOUNT_ID: cw.accountId,
      CHATWOOT_BOT_ID: 4,
      CHATWOOT_WEBHOOK_SECRET: [SECRET],
      CHATWOOT_MIRROR_INBOX_ID: MIRROR_INBOX,
    } satisfies Partial<ChatwootEnv>);
    ingress = createChatwootIngressApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'e2e' }), producers: ingressProducers, redis: ingressRedis, prefix, settings });
  });

  afterAll(async () => {
    await closeWorkers(workers, 5000);
    await deps.producers.close();
    await deps.close();
    await ingressProducers.close();
    await Promise.all([cw.close(), graph.close(), llm.close()]);
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    for (const r of [redis, producerRedis, ingressRedis]) r.disconnect();
  });

  /** Posts a signed webhook like Chatwoot (compact JSON, its own delivery id unless given). */
  async function webhook(payload: unknown, deliveryId = `d-${++delivery}`) {
    const body = JSON.stringify(payload);
    const res = await request(ingress)
      .post('/webhooks/chatwoot')
      .set('content-type', 'application/json')
      .set('x-chatwoot-delivery', deliveryId)
      .set(signChatwoot(body, SECRET))
      .send(body);
    expect(res.status).toBe(200);
    return res.body as { status: string; enqueued: number };
  }

  /** A customer's message in a bot-inbox conversation (based on the incoming fixture). */
  function customerMessage(conversationId: number, messageId: number, content: string, conv: Record<string, unknown> = {}): Payload {
    const base = fixtureJson<Payload>('chatwoot', 'message_created.incoming_contact_with_image.json');
    const { attachments: _a, ...rest } = base;
    return { ...rest, id: messageId, content, inbox: { id: BOT_INBOX, name: 'Website' }, conversation: { ...base.conversation, id: conversationId, inbox_id: BOT_INBOX, ...conv } };
  }

  const botReplies = (conversationId: number) => cw.messagesIn(conversationId).filter((m) => m.token === 'bot' && !m.private && m.message_type === 1);
  const settle = (ms = 800) => new Promise((r) => setTimeout(r, ms));

  it('an incoming customer message gets exactly one bot reply, posted with the bot token, typing on then off', async () => {
    cw.addConversation({ id: 401, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    expect(await webhook(customerMessage(401, 7001, 'Where is my order 4821?'))).toEqual({ status: 'enqueued', enqueued: 1 });
    await waitFor(() => botReplies(401).length === 1, 15_000, 'bot reply');
    await settle();
    expect(botReplies(401)).toHaveLength(1);
    expect(botReplies(401)[0]?.content).toContain('Bot answer to:');
    expect(cw.conversations.get(401)?.typing[0]).toBe('on');
    expect(cw.conversations.get(401)?.typing.at(-1)).toBe('off');
  });

  it('the same delivery twice, and the same message via a second destination, produce one reply', async () => {
    cw.addConversation({ id: 402, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    const msg = customerMessage(402, 7002, 'Can I change the delivery address?');
    await webhook(msg, 'dup-1');
    await webhook(msg, 'dup-1');
    await webhook(msg, 'dup-2');
    await waitFor(() => botReplies(402).length >= 1, 15_000, 'bot reply');
    await settle();
    expect(botReplies(402)).toHaveLength(1);
  });

  it('a reply whose POST was stored but whose response was lost is found in the message list, not posted twice', async () => {
    cw.addConversation({ id: 409, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    cw.failNext({ method: 'POST', path: '/conversations/409/messages', status: 0, loseResponse: true });
    await webhook(customerMessage(409, 7009, 'Is the shop open on Sunday?'));
    await waitFor(() => botReplies(409).length === 1, 15_000, 'the stored reply');
    await waitFor(async () => /result="reconciled",code="found"/.test(await deps.registry.metrics()), 15_000, 'the retry found it');
    await settle();
    expect(botReplies(409)).toHaveLength(1);
  });

  it('an open or human-assigned conversation gets no reply', async () => {
    cw.addConversation({ id: 403, inbox_id: BOT_INBOX, contact_id: 4411, status: 'open' });
    cw.addConversation({ id: 404, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending', assignee: { id: 17, type: 'user' } });
    // withheld from the bot, but enqueued to be recorded (record only: no turn, no reply)
    const llmBefore = llm.requests.length;
    expect((await webhook(customerMessage(403, 7003, 'hello?', { status: 'open' }))).status).toBe('enqueued');
    expect((await webhook(customerMessage(404, 7004, 'hello?', { meta: { assignee: { id: 17, type: 'user' }, assignee_type: 'User' } }))).status).toBe('enqueued');
    await settle();
    expect(llm.requests.length).toBe(llmBefore);
    // a human took over after the webhook was sent: the pre-send re-check withholds the reply
    cw.addConversation({ id: 405, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    cw.setDelay(0);
    const turnsBefore = llm.requests.length;
    cw.setConversation(405, { assignee: { id: 17, type: 'user' } });
    expect((await webhook(customerMessage(405, 7005, 'Is anyone there?'))).status).toBe('enqueued');
    await waitFor(() => llm.requests.length > turnsBefore, 15_000, 'agent turn');
    await settle(1500);
    expect(botReplies(403)).toHaveLength(0);
    expect(botReplies(404)).toHaveLength(0);
    expect(botReplies(405)).toHaveLength(0);
  });

  it.each([
    ['the customer asks for a human', 407, 'I want to talk to a human please', 'Reason:'],
    ['the agent decides (handoff_to_human tool)', 406, 'Please escalate my case', 'damaged parcel needs a refund decision'],
  ])('handoff when %s: private note, status open, then the bot stays silent', async (_label, id, text, expected) => {
    cw.addConversation({ id, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    await webhook(customerMessage(id, 7000 + id, text));
    await waitFor(() => cw.conversations.get(id)?.status === 'open', 15_000, 'handoff');
    const note = cw.messagesIn(id).find((m) => m.private);
    expect(note?.content).toContain(expected);
    expect(note?.token).toBe('bot');
    const toggle = cw.requests.find((r) => r.path.endsWith(`/conversations/${id}/toggle_status`));
    expect(toggle?.body).toEqual({ status: 'open' });
    expect(toggle?.headers['api_access_token']).toBe(cw.botToken);
    // Chatwoot reports the handoff; a late message webhook that still says "pending" must not wake the bot
    const open = fixtureJson<Payload>('chatwoot', 'conversation_status_changed.open.json');
    await webhook({ ...open, id, inbox_id: BOT_INBOX, updated_at: Date.now() / 1000 });
    const repliesBefore = botReplies(id).length;
    await webhook(customerMessage(id, 8000 + id, 'hello? still there?'));
    await settle(1500);
    expect(botReplies(id)).toHaveLength(repliesBefore);
  });

  it("a human agent's public reply in a pending bot conversation opens it and silences the bot", async () => {
    cw.addConversation({ id: 408, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    const human = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
    const pendingConv = { ...human.conversation, id: 408, inbox_id: BOT_INBOX, status: 'pending', meta: { ...human.conversation.meta, assignee: null, assignee_type: null } };
    expect((await webhook({ ...human, id: 9408, inbox: { id: BOT_INBOX, name: 'Website' }, conversation: pendingConv })).status).toBe('enqueued');
    await waitFor(() => cw.conversations.get(408)?.status === 'open', 15_000, 'conversation opened');
    expect(cw.requests.find((r) => r.path.endsWith('/conversations/408/toggle_status'))?.headers['api_access_token']).toBe(cw.botToken);
    await webhook(customerMessage(408, 9409, 'ok thanks, and the invoice?'));
    await settle(1500);
    expect(botReplies(408)).toHaveLength(0);
  });

  describe('mirror', () => {
    const waRef = { channel: 'whatsapp' as const, account: WA_ACCOUNT, userId: WA_USER, address: WA_USER, displayName: 'Jonas Becker' };
    let mirrorConversation = 0;

    function waMessage(i: number, text: string): InboundMessage {
      return {
        kind: 'message',
        eventId: `wa-${WA_ACCOUNT}-wamid.e2e${i}`,
        providerMessageId: `wamid.e2e${i}`,
        conversation: waRef,
        sentAt: Date.now(),
        receivedAt: Date.now(),
        content: { type: 'text', text },
        author: 'customer',
      };
    }

    it('five WhatsApp messages at once → one contact, one conversation, the incoming messages and the bot reply', async () => {
      const events = [0, 1, 2, 3, 4].map((i) => waMessage(i, `part ${i} of my question`));
      await ingressProducers.enqueueBulk('inbound', events.map((e) => ({ data: e, opts: { jobId: e.eventId } })));
      await waitFor(() => graph.sent.length >= 1, 15_000, 'WhatsApp reply');
      await waitFor(() => cw.messages.filter((m) => m.token === 'user' && m.message_type === 1 && !m.private).length >= graph.sent.length, 15_000, 'mirrored reply');
      await settle();
      const mirrorConvs = [...cw.conversations.values()].filter((c) => c.inbox_id === MIRROR_INBOX);
      expect(mirrorConvs).toHaveLength(1);
      expect(cw.contacts.filter((c) => c.identifier === `wa:${WA_USER}`)).toHaveLength(1);
      mirrorConversation = mirrorConvs[0]!.id;
      const mirrored = cw.messagesIn(mirrorConversation);
      expect(mirrored.filter((m) => m.message_type === 0).map((m) => m.content).sort()).toEqual(events.map((e) => (e.content.type === 'text' ? e.content.text : '')).sort());
      const outgoing = mirrored.filter((m) => m.message_type === 1 && !m.private);
      expect(outgoing).toHaveLength(graph.sent.length);
      expect(outgoing.every((m) => m.source_id?.startsWith('sb:outgoing:'))).toBe(true);
    });

    function humanReply(messageId: number, content: string, extra: Record<string, unknown> = {}): Payload {
      const base = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
      const conv = cw.conversations.get(mirrorConversation)!;
      return {
        ...base,
        id: messageId,
        content,
        inbox: { id: MIRROR_INBOX, name: 'WhatsApp (gateway)' },
        conversation: { ...base.conversation, id: conv.id, inbox_id: MIRROR_INBOX, contact_inbox: { contact_id: conv.contact_id, source_id: conv.source_id } },
        ...extra,
      };
    }

    it("a human agent's public reply in the mirror inbox is delivered once on WhatsApp; a private note never", async () => {
      const sentBefore = graph.sent.length;
      const human = await (async () => {
        // the agent writes in Chatwoot: the message exists there, then the webhook arrives (twice: bot and API inbox destinations)
        const res = await request(cw.url).post(`/api/v1/accounts/${cw.accountId}/conversations/${mirrorConversation}/messages`).set('api_access_token', cw.userToken).send({ content: 'Hi Jonas, Maria here.', message_type: 'outgoing' });
        return res.body as { id: number };
      })();
      await webhook(humanReply(human.id, 'Hi Jonas, Maria here.'), 'h-1');
      await webhook(humanReply(human.id, 'Hi Jonas, Maria here.'), 'h-2');
      await webhook(humanReply(human.id + 100_000, 'internal: check the courier', { private: true }));
      await waitFor(() => graph.sent.length > sentBefore, 15_000, 'relayed reply');
      await settle(1200);
      const relayed = graph.textsTo(WA_USER).filter((t) => t.includes('Maria here'));
      expect(relayed).toHaveLength(1);
      expect(graph.textsTo(WA_USER).some((t) => t.includes('internal'))).toBe(false);
      // the human now owns the conversation: a new customer message is mirrored but not answered by the bot
      const repliesBefore = graph.sent.length;
      await ingressProducers.enqueue('inbound', waMessage(10, 'thanks Maria'), { jobId: 'wa-e2e-10' });
      await waitFor(() => cw.messagesIn(mirrorConversation).some((m) => m.content === 'thanks Maria'), 15_000, 'mirrored customer message');
      await settle(1200);
      expect(graph.sent.length).toBe(repliesBefore);
    });

    it('a /template command in the mirror inbox sends the template on WhatsApp; a wrong one is answered with a private note', async () => {
      const templates = () => graph.sent.filter((m) => m.to === `+${WA_USER}` && m.type === 'template');
      await webhook(humanReply(900_001, '/template order_update en_US Jonas | A-1', { private: true }));
      await waitFor(() => templates().length > 0, 15_000, 'the template');
      expect(templates()[0]!.body['template']).toEqual({
        name: 'order_update',
        language: { code: 'en_US' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Jonas' }, { type: 'text', text: 'A-1' }] }],
      });
      await webhook(humanReply(900_002, '/template order_update en_US Jonas', { private: true }));
      const refusal = () => cw.messagesIn(mirrorConversation).find((m) => m.private && /Template not sent/.test(m.content ?? ''));
      await waitFor(() => refusal() !== undefined, 15_000, 'the refusal note');
      expect(refusal()!.content).toMatch(/body: 2 parameters expected, 1 given/);
      await settle(800);
      expect(templates()).toHaveLength(1);
      expect(graph.textsTo(WA_USER).some((t) => t.includes('/template'))).toBe(false);
    });

    it('an agent assigning themselves silences the bot; resolving hands the customer back to the bot', async () => {
      const conv = cw.conversations.get(mirrorConversation)!;
      const base = fixtureJson<Payload>('chatwoot', 'conversation_status_changed.open.json');
      const state = (status: string, assigned: boolean) => ({
        ...base,
        id: conv.id,
        inbox_id: MIRROR_INBOX,
        status,
        updated_at: Date.now() / 1000,
        contact_inbox: { contact_id: conv.contact_id, source_id: conv.source_id },
        meta: { sender: { id: conv.contact_id, type: 'contact' }, assignee: assigned ? { id: 17, type: 'user' } : null, assignee_type: assigned ? 'User' : null },
      });
      expect((await webhook(state('open', true))).status).toBe('enqueued');
      const before = graph.sent.length;
      await ingressProducers.enqueue('inbound', waMessage(30, 'one more question'), { jobId: 'wa-e2e-30' });
      await waitFor(() => cw.messagesIn(mirrorConversation).some((m) => m.content === 'one more question'), 15_000, 'mirrored');
      await settle(1200);
      expect(graph.sent.length).toBe(before);
      expect((await webhook(state('resolved', true))).status).toBe('enqueued');
      await settle(300);
      await ingressProducers.enqueue('inbound', waMessage(31, 'and another question'), { jobId: 'wa-e2e-31' });
      await waitFor(() => graph.sent.length > before, 15_000, 'bot answers again');
    });

    it('a handoff decided on WhatsApp opens the mirrored conversation with a private note', async () => {
      const other = { ...waRef, userId: '4917000000001', address: '4917000000001', displayName: 'Erika' };
      const event: InboundMessage = { ...waMessage(20, 'Please escalate my case'), eventId: 'wa-e2e-handoff', providerMessageId: 'wamid.handoff', conversation: other };
      await ingressProducers.enqueue('inbound', event, { jobId: event.eventId });
      await waitFor(() => [...cw.conversations.values()].some((c) => c.inbox_id === MIRROR_INBOX && c.source_id === `sb:wa:${WA_ACCOUNT}:4917000000001` && c.status === 'open' && cw.messagesIn(c.id).some((m) => m.private)), 15_000, 'mirrored handoff');
      const conv = [...cw.conversations.values()].find((c) => c.source_id === `sb:wa:${WA_ACCOUNT}:4917000000001`)!;
      expect(cw.messagesIn(conv.id).find((m) => m.private)?.content).toContain('damaged parcel needs a refund decision');
      expect(cw.contacts.find((c) => c.identifier === 'wa:4917000000001')).toMatchObject({ phone_number: '+4917000000001', name: 'Erika' });
    });

    it('a failed WhatsApp delivery of a human reply is reported on the Chatwoot message', async () => {
      graph.failNext(1, graphError(131047, 'Re-engagement message'));
      const res = await request(cw.url).post(`/api/v1/accounts/${cw.accountId}/conversations/${mirrorConversation}/messages`).set('api_access_token', cw.userToken).send({ content: 'Are you still there?', message_type: 'outgoing' });
      const id = (res.body as { id: number }).id;
      await webhook(humanReply(id, 'Are you still there?'));
      await waitFor(() => cw.messages.find((m) => m.id === id)?.status === 'failed', 15_000, 'failure report');
      expect(cw.messages.find((m) => m.id === id)?.external_error).toMatch(/131047/);
      await waitFor(() => cw.messagesIn(mirrorConversation).some((m) => m.private && /not delivered/.test(m.content ?? '')), 5000, 'failure note');
    });
  });
});
