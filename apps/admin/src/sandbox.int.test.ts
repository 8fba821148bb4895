import request from 'supertest';
import { waitFor } from '@switchboard/testkit';
import { SANDBOX_TEST_SECRETS, startSandboxStack, type SandboxStack } from './testing/sandbox-harness';
import type { JobStep, MessageTrace } from './sandbox/trace';

jest.setTimeout(60_000);

interface Line {
  id: string;
  author: 'customer' | 'bot' | 'human' | 'system';
  text: string;
  deliveredAt?: number;
  readAt?: number;
  outboundId?: string;
  media?: { kind: string; url?: string };
  trace?: { eventId: string; syncJobId?: string; ingressStatus?: number };
  path?: MessageTrace;
}
interface Conversation {
  conversationId: string;
  owner: 'bot' | 'human';
  lines: Line[];
}

const AUTH = { user: 'agent', password: 'sandbox-test-password' };
const basic = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const waCustomer = () => `1555${String(Date.now()).slice(-6)}${++n}`;
const wxCustomer = () => `wmSbxTest${Date.now()}${++n}`;
const tgCustomer = () => `7${String(Date.now()).slice(-9)}${++n % 10}`;

describe('sandbox through the real pipeline (real Redis, real ingress apps and workers, fake provider APIs on the admin app)', () => {
  let stack: SandboxStack;

  beforeAll(async () => {
    // a debounce wide enough that two messages posted together always form one turn, even on a busy machine
    stack = await startSandboxStack({ auth: AUTH, env: { TURN_DEBOUNCE_MS: '600', TURN_MAX_WAIT_MS: '2000' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  const api = () => request(stack.adminUrl);
  const conversation = async (channel: string, customer: string): Promise<Conversation> => {
    const res = await api().get('/sandbox/api/conversation').query({ channel, customer }).set('Authorization', basic);
    expect(res.status).toBe(200);
    return res.body as Conversation;
  };
  const say = async (channel: string, customer: string, text: string) => {
    const res = await api().post('/sandbox/api/messages').set('Authorization', basic).send({ channel, customer, text });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ ok: true, ingressStatus: 200 });
    return res.body as { conversationId: string; lineId: string };
  };
  const replies = (c: Conversation, author: 'bot' | 'human' = 'bot') => c.lines.filter((l) => l.author === author && l.deliveredAt);
  const stepOf = (trace: MessageTrace | undefined, queue: string): JobStep | undefined => trace?.steps.find((s) => s.queue === queue);

  it('serves the page behind basic auth, and says the agent is offline without OPENAI_API_KEY', async () => {
    expect((await api().get('/sandbox')).status).toBe(401);
    const page = await api().get('/sandbox').set('Authorization', basic);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-testid="customer-pane"');
    expect(page.text).toContain('data-testid="agent-pane"');
    const js = await api().get('/sandbox/assets/sandbox.js').set('Authorization', basic);
    expect(js.status).toBe(200);
    const info = await api().get('/sandbox/api/info').set('Authorization', basic);
    expect(info.body).toMatchObject({ agent: 'offline', channels: { whatsapp: { enabled: true }, 'wechat-kf': { enabled: true } } });
    expect(info.body.agentNote).toMatch(/Offline mode/);
  });

  it('WhatsApp: a signed webhook through the real ingress (accepted into its mailbox) → turn → outbound → the fake Graph API, with the path traced', async () => {
    const customer = waCustomer();
    const sent = await say('whatsapp', customer, 'hello');
    await waitFor(async () => replies(await conversation('whatsapp', customer)).length >= 1, 20_000, 'a bot reply');
    await waitFor(async () => {
      const c = await conversation('whatsapp', customer);
      return stepOf(c.lines.find((l) => l.id === sent.lineId)?.path, 'outbound-whatsapp')?.state === 'completed';
    }, 10_000, 'a completed outbound step');
    const c = await conversation('whatsapp', customer);
    expect(c.owner).toBe('bot');
    // every queue on the path has a consumer
    expect((c as Conversation & { idleQueues: string[] }).idleQueues).toEqual([]);
    const [reply] = replies(c);
    expect(reply!.text.length).toBeGreaterThan(0);
    expect(reply!.outboundId).toMatch(/^out-whatsapp-/);
    const line = c.lines.find((l) => l.id === sent.lineId)!;
    expect(line.trace).toMatchObject({ ingressStatus: 200, eventId: expect.stringMatching(`^wa-${SANDBOX_TEST_SECRETS.phoneNumberId}-wamid.SBX`) });
    expect(line.path!.steps.map((s) => [s.queue, s.state])).toEqual([
      ['turn', 'completed'],
      ['outbound-whatsapp', 'completed'],
    ]);
    expect(stepOf(line.path, 'outbound-whatsapp')!.jobId).toBe(reply!.outboundId);
    expect(line.path!.source).toMatch(/^(local|faq|offline)$/);
    expect(line.path!.totalMs).toBeGreaterThan(0);
    // the worker marked the customer's message read (typing indicator) on the fake Graph API
    expect(line.readAt).toEqual(expect.any(Number));
  });

  it('a burst of two messages is one turn: both messages show the same turn and reply job', async () => {
    const customer = waCustomer();
    const [a, b] = await Promise.all([say('whatsapp', customer, 'hello'), say('whatsapp', customer, 'are you there')]);
    await waitFor(async () => {
      const c = await conversation('whatsapp', customer);
      return [a, b].every((m) => stepOf(c.lines.find((l) => l.id === m.lineId)?.path, 'outbound-whatsapp')?.state === 'completed');
    }, 20_000, 'both traced to a completed reply');
    const c = await conversation('whatsapp', customer);
    const turnOf = (id: string) => stepOf(c.lines.find((l) => l.id === id)?.path, 'turn')?.jobId;
    expect(turnOf(a.lineId)).toBeDefined();
    expect(turnOf(a.lineId)).toBe(turnOf(b.lineId));
    expect(replies(c)).toHaveLength(1);
  });

  it('take over → the bot stays silent; a human reply reaches the customer; hand back → the bot answers again', async () => {
    const customer = waCustomer();
    await say('whatsapp', customer, 'hi there');
    await waitFor(async () => replies(await conversation('whatsapp', customer)).length === 1, 20_000, 'first bot reply');

    const take = await api().post('/sandbox/api/takeover').set('Authorization', basic).send({ channel: 'whatsapp', customer });
    expect(take.status).toBe(200);
    expect((await conversation('whatsapp', customer)).owner).toBe('human');
    const overview = await api().get('/admin/overview.json').set('Authorization', basic);
    expect(overview.body.humanOwned.conversations.map((x: { conversationId: string }) => x.conversationId)).toContain(take.body.conversationId);

    const silent = await say('whatsapp', customer, 'is anyone there?');
    await waitFor(async () => (await conversation('whatsapp', customer)).lines.find((l) => l.id === silent.lineId)?.path?.source === 'human_owned', 15_000, 'turn skipped');
    await sleep(500);
    expect(replies(await conversation('whatsapp', customer))).toHaveLength(1);

    const human = await api().post('/sandbox/api/reply').set('Authorization', basic).send({ channel: 'whatsapp', customer, text: 'Hi, Ana from support here.' });
    expect(human.status).toBe(202);
    await waitFor(async () => replies(await conversation('whatsapp', customer), 'human').length === 1, 15_000, 'human reply delivered');
    const afterHuman = await conversation('whatsapp', customer);
    expect(replies(afterHuman, 'human')[0]).toMatchObject({ text: 'Hi, Ana from support here.', outboundId: human.body.outboundId });
    expect(replies(afterHuman, 'human')[0]!.path!.steps[0]).toMatchObject({ queue: 'outbound-whatsapp', state: 'completed' });
    expect(replies(afterHuman)).toHaveLength(1);

    const back = await api().post('/sandbox/api/handback').set('Authorization', basic).send({ channel: 'whatsapp', customer });
    expect(back.status).toBe(200);
    expect((await conversation('whatsapp', customer)).owner).toBe('bot');
    const thanks = await say('whatsapp', customer, 'thanks!');
    await waitFor(async () => replies(await conversation('whatsapp', customer)).length === 2, 20_000, 'bot answers again');
    await waitFor(async () => stepOf((await conversation('whatsapp', customer)).lines.find((l) => l.id === thanks.lineId)?.path, 'outbound-whatsapp')?.state === 'completed', 10_000, 'reply traced');
    // the message written while the human owned the conversation was read by the human: the bot's reply
    // after the hand back answers "thanks!" only
    const end = await conversation('whatsapp', customer);
    const held = end.lines.find((l) => l.id === silent.lineId)!;
    expect(held.path).toMatchObject({ source: 'human_owned', readByHuman: true });
    expect(stepOf(held.path, 'outbound-whatsapp')).toBeUndefined();
    expect(stepOf(end.lines.find((l) => l.id === thanks.lineId)!.path, 'outbound-whatsapp')!.jobId).toBe(replies(end).at(-1)!.outboundId);
  });

  it('WeChat: an encrypted callback through the real wechat-ingress → wechat-sync (kf/sync_msg on the fake WeCom) → … → kf/send_msg', async () => {
    const customer = wxCustomer();
    const sent = await say('wechat-kf', customer, '你好');
    await waitFor(async () => replies(await conversation('wechat-kf', customer)).length >= 1, 25_000, 'a WeChat reply');
    await waitFor(async () => {
      const c = await conversation('wechat-kf', customer);
      return stepOf(c.lines.find((l) => l.id === sent.lineId)?.path, 'outbound-wechat-kf')?.state === 'completed';
    }, 10_000, 'a completed outbound step');
    const line = (await conversation('wechat-kf', customer)).lines.find((l) => l.id === sent.lineId)!;
    expect(line.trace!.syncJobId).toMatch(/^wxs-/);
    expect(line.path!.steps.map((s) => s.queue)).toEqual(['wechat-sync', 'turn', 'outbound-wechat-kf']);
    expect(line.path!.steps.every((s) => s.state === 'completed')).toBe(true);
  });

  it('WeChat: take over, human reply, hand back', async () => {
    const customer = wxCustomer();
    await say('wechat-kf', customer, '在吗');
    await waitFor(async () => replies(await conversation('wechat-kf', customer)).length === 1, 25_000, 'first reply');
    await api().post('/sandbox/api/takeover').set('Authorization', basic).send({ channel: 'wechat-kf', customer }).expect(200);
    await api().post('/sandbox/api/reply').set('Authorization', basic).send({ channel: 'wechat-kf', customer, text: '人工客服为您服务' }).expect(202);
    await waitFor(async () => replies(await conversation('wechat-kf', customer), 'human').length === 1, 15_000, 'human reply delivered');
    await api().post('/sandbox/api/handback').set('Authorization', basic).send({ channel: 'wechat-kf', customer }).expect(200);
    expect((await conversation('wechat-kf', customer)).owner).toBe('bot');
    // WeChat echoes only msgids: the bot's parts are mapped back to their outbound job (the page labels them by source)
    const bot = replies(await conversation('wechat-kf', customer))[0]!;
    expect(bot.outboundId).toMatch(/^out-wechat-kf-/);
  });

  it('Telegram: an update with the secret header through the real telegram-ingress → turn → sendMessage on the fake Bot API; take over, human reply, hand back', async () => {
    const customer = tgCustomer();
    const sent = await say('telegram', customer, 'hello from telegram');
    await waitFor(async () => replies(await conversation('telegram', customer)).length >= 1, 25_000, 'a Telegram reply');
    await waitFor(async () => {
      const c = await conversation('telegram', customer);
      return stepOf(c.lines.find((l) => l.id === sent.lineId)?.path, 'outbound-telegram')?.state === 'completed';
    }, 10_000, 'a completed outbound step');
    const line = (await conversation('telegram', customer)).lines.find((l) => l.id === sent.lineId)!;
    expect(line.trace!.ingressStatus).toBe(200);
    expect(line.path!.steps.map((s) => s.queue)).toEqual(['turn', 'outbound-telegram']);
    await api().post('/sandbox/api/takeover').set('Authorization', basic).send({ channel: 'telegram', customer }).expect(200);
    await say('telegram', customer, 'is a person there?');
    await api().post('/sandbox/api/reply').set('Authorization', basic).send({ channel: 'telegram', customer, text: 'Yes, this is Ana from support.' }).expect(202);
    await waitFor(async () => replies(await conversation('telegram', customer), 'human').length === 1, 15_000, 'human reply delivered');
    // silent while the human owns it: still one bot reply
    expect(replies(await conversation('telegram', customer))).toHaveLength(1);
    await api().post('/sandbox/api/handback').set('Authorization', basic).send({ channel: 'telegram', customer }).expect(200);
    expect((await conversation('telegram', customer)).owner).toBe('bot');
  });

  it('an uploaded image becomes a WhatsApp image message whose media the worker can fetch from the fake Graph API with its bearer token', async () => {
    const customer = waCustomer();
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const res = await api()
      .post('/sandbox/api/messages')
      .set('Authorization', basic)
      .send({ channel: 'whatsapp', customer, text: 'what is this?', file: { name: 'dot.png', mimeType: 'image/png', dataBase64: png.toString('base64') } });
    expect(res.status).toBe(202);
    const line = (await conversation('whatsapp', customer)).lines.find((l) => l.id === res.body.lineId)!;
    expect(line.media).toMatchObject({ kind: 'image', url: expect.stringMatching(/^\/sandbox\/media\/\d+$/) });
    const mediaId = line.media!.url!.split('/').pop()!;
    // Graph's two-step download: GET /{media-id} → url, GET url with the same bearer token
    expect((await api().get(`/sandbox/graph/v24.0/${mediaId}`)).status).toBe(401);
    const meta = await api().get(`/sandbox/graph/v24.0/${mediaId}`).set('Authorization', `Bearer ${SANDBOX_TEST_SECRETS.accessToken}`);
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ messaging_product: 'whatsapp', id: mediaId, mime_type: 'image/png', file_size: png.length });
    const url = new URL(meta.body.url as string);
    expect((await request(url.origin).get(url.pathname)).status).toBe(401);
    const bytes = await request(url.origin).get(url.pathname).set('Authorization', `Bearer ${SANDBOX_TEST_SECRETS.accessToken}`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(Buffer.compare(bytes.body as Buffer, png)).toBe(0);
    await waitFor(async () => stepOf((await conversation('whatsapp', customer)).lines.find((l) => l.id === res.body.lineId)?.path, 'turn')?.state === 'completed', 10_000, 'image turn done');
  });

  it('rejects bad input and sends from the fake Graph API without the bearer token', async () => {
    const bad = await api().post('/sandbox/api/messages').set('Authorization', basic).send({ channel: 'whatsapp', customer: 'not-digits', text: 'x' });
    expect(bad.status).toBe(400);
    const empty = await api().post('/sandbox/api/messages').set('Authorization', basic).send({ channel: 'whatsapp', customer: '15550009999', text: '  ' });
    expect(empty.status).toBe(400);
    const noToken = await api().post(`/sandbox/graph/v24.0/${SANDBOX_TEST_SECRETS.phoneNumberId}/messages`).send({ messaging_product: 'whatsapp', to: '+15550009999', type: 'text', text: { body: 'x' } });
    expect(noToken.status).toBe(401);
    expect(noToken.body.error.code).toBe(190);
    const wecomBad = await api().get('/sandbox/wecom/cgi-bin/gettoken').query({ corpid: SANDBOX_TEST_SECRETS.wechatCorpId, corpsecret: 'wrong' });
    expect(wecomBad.body).toMatchObject({ errcode: 40001 });
  });
});
