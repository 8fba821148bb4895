/**
 * The knowledge base in the conversation, end to end: a real PostgreSQL knowledge base (full-text
 * mode), the worker pipeline on real Redis, fake Graph / WeCom / Bot API / Chatwoot / OpenAI and a
 * fake web site on loopback. The fake model cites [1] whenever it was given numbered sources, so the reply carries
 * the citation only if the sources reached it.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnansweredQuestions } from '@switchboard/agent';
import { conversationId, createMetricsRegistry, silentLogger } from '@switchboard/core';
import { chunkDocument, KnowledgeBase, KnowledgeRepo } from '@switchboard/knowledge';
import { openStore, type Store } from '@switchboard/store';
import { createRedis, getConversationOwner, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import {
  createTestDatabase,
  encryptWechatCallback,
  FakeWecom,
  fixtureJson,
  kfCallbackXml,
  TELEGRAM_FIXTURE_BOT,
  telegramTextUpdate,
  waitFor,
  WECHAT_TEST_CONFIG,
  whatsappTextDelivery,
  type FakeChatRequest,
  type TestDatabase,
} from '@switchboard/testkit';
import { createWechatIngressApp } from '@switchboard/wechat-ingress/app';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

const KF = 'wkKBkf0000000000000000000000001';
/** The harness's WhatsApp number (whatsappTextDelivery's default phone_number_id). */
const WA_NUMBER = '109876543210987';
/** A Chatwoot inbox of the agent bot (the harness mirrors into another). */
const CW_BOT_INBOX = 5;
const KEYS = WECHAT_TEST_CONFIG;
const hash = (s: string) => createHash('sha256').update(s).digest('hex');

const systemOf = (req: FakeChatRequest | undefined): string => {
  const m = req?.messages.find((x) => x.role === 'system')?.content;
  return typeof m === 'string' ? m : '';
};
const lastUser = (req: FakeChatRequest | undefined): string => {
  const m = [...(req?.messages ?? [])].reverse().find((x) => x.role === 'user')?.content;
  return typeof m === 'string' ? m : JSON.stringify(m ?? '');
};

type ChatwootPayload = Record<string, unknown> & { conversation: Record<string, unknown> };

describe('knowledge in the conversation (PostgreSQL knowledge base, WhatsApp, WeChat, Telegram, Chatwoot; fake OpenAI)', () => {
  let db: TestDatabase;
  let store: Store;
  let repo: KnowledgeRepo;
  let p: Pipeline;
  let wecom: FakeWecom;
  let site: Server;
  let siteUrl = '';
  let wxServer: Server;
  let wxUrl = '';
  let ingressRedis: RedisClient;
  let ingressProducers: Producers;
  let userSeq = 0;

  async function ingest(title: string, text: string, url: string): Promise<string> {
    const id = await repo.createDocument({ title, sourceKind: 'url', url });
    await repo.replaceChunks(id, hash(text), chunkDocument(text).map((c) => ({ heading: c.heading, text: c.text, contentHash: hash(c.text) })));
    return id;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const log = silentLogger();
    store = await openStore({ url: db.url, log, poolMax: 3 });
    repo = new KnowledgeRepo(store.db, store.vector.mode);
    site = createServer((req, res) => {
      if (req.url === '/product.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<html><head><title>Trail Runner 3</title></head><body><article><h1>Trail Runner 3</h1><p>The Trail Runner 3 is a waterproof running shoe with a Vibram sole, weighing 280 grams per shoe. Available in sizes 38 to 47.</p><p>It comes in blue and black and is made for muddy mountain trails and long distances.</p></article></body></html>');
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'kb-agent-'));
    const agentConfig = join(dir, 'agent.yaml');
    writeFileSync(agentConfig, 'knowledge:\n  grounding: strict\n  k: 3\n');
    wecom = await FakeWecom.start({ corpId: KEYS.corpId });
    p = await startPipeline({
      knowledge: new KnowledgeBase(repo, undefined),
      telegram: true,
      chatwoot: true,
      env: {
        AGENT_CONFIG: agentConfig,
        FETCH_ALLOWED_ORIGINS: siteUrl,
        WECHAT_TOKEN: KEYS.token,
        WECHAT_AESKEY: KEYS.encodingAESKey,
        WECHAT_CORP_ID: KEYS.corpId,
        WECHAT_SECRET: wecom.secret,
        WECHAT_API_URL: wecom.url,
        WECHAT_SYNC_LOCK_MS: '1000',
      },
    });
    // the fake model cites the first source when it was given sources, else echoes the customer
    p.openai.setReply((req) => (/\n\[1\] /.test(systemOf(req)) ? `According to our information, yes [1].` : `echo: ${lastUser(req)}`));
    ingressRedis = createRedis(p.env.REDIS_URL, 'producer');
    ingressRedis.on('error', () => undefined);
    await waitReady(ingressRedis);
    ingressProducers = new Producers(ingressRedis, p.prefix);
    const app = createWechatIngressApp({
      log,
      registry: createMetricsRegistry({ service: 'kb-e2e' }),
      producers: ingressProducers,
      redis: ingressRedis,
      settings: { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 65536 },
    });
    wxServer = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    wxUrl = `http://127.0.0.1:${(wxServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((r) => {
      wxServer.closeAllConnections();
      wxServer.close(() => r());
    });
    await new Promise<void>((r) => {
      site.closeAllConnections();
      site.close(() => r());
    });
    await ingressProducers.close();
    ingressRedis.disconnect();
    await p.close();
    await wecom.close();
    await store.close();
    await db.drop();
  });

  const waUser = () => `1555170${String(++userSeq).padStart(4, '0')}`;
  async function askWhatsApp(text: string, waId = waUser()): Promise<{ reply: string; req: FakeChatRequest | undefined }> {
    const before = p.openai.requests.length;
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text }).payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length >= 1, 30_000, `reply to "${text}"`);
    return { reply: p.graph.textsTo(waId).join('\n'), req: p.openai.requests.slice(before).find((r) => systemOf(r).length > 0) };
  }
  async function wechatCallback(): Promise<void> {
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: wecom.callbackToken(), openKfId: KF }));
    const res = await fetch(`${wxUrl}/webhooks/wechat-kf${cb.search}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.body });
    expect(res.status).toBe(200);
  }
  const wxText = (m: { body: Record<string, unknown> }) => (m.body['text'] as { content: string } | undefined)?.content ?? '';

  it('an English question on WhatsApp: the chunk reaches the model as source [1] and the reply lists the cited source', async () => {
    await ingest('Shipping', '# Shipping\n\nWe ship to Germany within 3 working days. Shipping to Germany costs 4.90 EUR.', 'https://shop.example/shipping');
    const { reply, req } = await askWhatsApp('How long does shipping to Germany take?');
    expect(systemOf(req)).toMatch(/\[1\] Shipping.*\(https:\/\/shop\.example\/shipping\)\nWe ship to Germany within 3 working days/);
    expect(req?.tools?.map((t) => t.function.name)).toContain('search_knowledge');
    expect(reply).toContain('yes [1]');
    // WhatsApp shows the Markdown link as plain "title (url)"
    expect(reply).toMatch(/Sources:\n\[1\] Shipping \(https:\/\/shop\.example\/shipping\)/);
  });

  it('a Chinese question on WeChat: the Chinese chunk is the source and the plain-text reply cites it', async () => {
    await ingest('退货政策', '# 退货政策\n\n自收货之日起30天内可以申请退货，退款在5个工作日内退回原支付账户。', 'https://shop.example/zh/returns');
    const user = `wmKBuser${Date.now()}`;
    const before = p.openai.requests.length;
    wecom.customerText(KF, user, '收到货以后多久可以退货？');
    await wechatCallback();
    await waitFor(() => wecom.sentTo(user).length >= 1, 30_000, 'the WeChat reply');
    const req = p.openai.requests.slice(before).find((r) => systemOf(r).length > 0);
    expect(systemOf(req)).toContain('[1] 退货政策');
    expect(systemOf(req)).toContain('30天内可以申请退货');
    const text = wecom.sentTo(user).map(wxText).join('\n');
    expect(text).toContain('[1]');
    expect(text).toMatch(/来源：\n\[1\] 退货政策 \(https:\/\/shop\.example\/zh\/returns\)/);
  });

  it('strict grounding, nothing relevant: the customer is told and the conversation is handed to a person (owner human, reason knowledge_gap); the question is recorded; no model call', async () => {
    const before = p.openai.requests.length;
    const question = 'Do you sell helicopter spare parts?';
    const waId = waUser();
    const conv = conversationId({ channel: 'whatsapp', account: WA_NUMBER, userId: waId });
    expect((await getConversationOwner(p.deps.redis, p.prefix, conv)).owner).toBe('bot');
    const { reply } = await askWhatsApp(question, waId);
    expect(reply).toMatch(/don't have reliable information.*colleague/);
    expect(p.openai.requests.length).toBe(before);
    await waitFor(async () => (await getConversationOwner(p.deps.redis, p.prefix, conv)).owner === 'human', 10_000, 'the human owner');
    expect((await getConversationOwner(p.deps.redis, p.prefix, conv)).record).toMatchObject({ owner: 'human', reason: 'knowledge_gap' });
    const recorded = await new UnansweredQuestions(p.deps.redis, p.deps.keys.agent).list('default');
    expect(recorded.find((r) => r.question === question)).toMatchObject({ account: 'default', count: 1, channel: 'whatsapp' });
  });

  it('Telegram: the citation is a link (MarkdownV2 inline link to the source)', async () => {
    await ingest('Opening hours', '# Opening hours\n\nThe Hamburg store opens at 9:00 on Saturdays and closes at 14:00.', 'https://shop.example/hours');
    const tg = p.telegram!;
    const chat = '5551501';
    const before = p.openai.requests.length;
    expect(await p.postTelegram(telegramTextUpdate({ chatId: Number(chat), text: 'When does the Hamburg store open on Saturdays?' }))).toBe(200);
    await waitFor(() => tg.textsTo(chat).length >= 1, 30_000, 'the Telegram reply');
    expect(systemOf(p.openai.requests.slice(before).find((r) => systemOf(r).length > 0))).toMatch(/\[1\] Opening hours.*\(https:\/\/shop\.example\/hours\)\nThe Hamburg store opens at 9:00/);
    const sent = tg.sent.find((m) => m.chatId === chat && m.token === TELEGRAM_FIXTURE_BOT.token)!;
    expect(sent.parseMode).toBe('MarkdownV2');
    // the source's title is the text of an inline link to its URL; the customer sees the title
    expect(sent.text).toContain('[Opening hours](https://shop.example/hours)');
    expect(sent.plain).toMatch(/yes \[1\]\.\n\nSources:\n\[1\] Opening hours$/);
  });

  it('Chatwoot: the citation is a Markdown link in the bot reply', async () => {
    await ingest('Warranty', '# Warranty\n\nEvery espresso machine has a warranty of two years from the date of purchase.', 'https://shop.example/warranty');
    const cw = p.chatwoot!;
    cw.addConversation({ id: 8801, inbox_id: CW_BOT_INBOX, contact_id: 4411, status: 'pending' });
    const base = fixtureJson<ChatwootPayload>('chatwoot', 'message_created.incoming_contact_with_image.json');
    const { attachments: _attachments, ...rest } = base;
    const message = { ...rest, id: 9901, content: 'How long is the warranty of an espresso machine?', inbox: { id: CW_BOT_INBOX, name: 'Website' }, conversation: { ...base.conversation, id: 8801, inbox_id: CW_BOT_INBOX } };
    expect(await p.postChatwoot(message)).toBe(200);
    const botReplies = () => cw.messagesIn(8801).filter((m) => m.token === 'bot' && !m.private && m.message_type === 1);
    await waitFor(() => botReplies().length >= 1, 30_000, 'the Chatwoot bot reply');
    expect(botReplies()[0]?.content).toMatch(/yes \[1\]\.\n\nSources:\n\[1\] \[Warranty\]\(https:\/\/shop\.example\/warranty\)$/);
  });

  it('a deleted document is never cited again', async () => {
    const id = await ingest('Gift cards', '# Gift cards\n\nGift cards are valid for two years and can be used online.', 'https://shop.example/gift-cards');
    const first = await askWhatsApp('Are gift cards valid online?');
    expect(first.reply).toContain('shop.example/gift-cards');
    expect(await repo.deleteDocument(id)).toBe(true);
    const before = p.openai.requests.length;
    const second = await askWhatsApp('Are gift cards valid online?');
    expect(second.reply).not.toContain('shop.example/gift-cards');
    expect(p.openai.requests.slice(before).map(systemOf).join('\n')).not.toContain('Gift cards are valid');
  });

  it('links: a private address is not fetched (the model is told); an allowed page reaches the model as the page text', async () => {
    await ingest('Shoes', '# Shoes\n\nEvery running shoe and all trail shoes can be returned within 30 days.', 'https://shop.example/shoes');
    const priv = await askWhatsApp('Can you check this running shoe page http://10.20.30.40/internal/shoes please');
    expect(lastUser(priv.req)).toMatch(/could not be opened: the address is private or not allowed/);
    const page = await askWhatsApp(`Is this running shoe waterproof? ${siteUrl}/product.html`);
    expect(lastUser(page.req)).toContain('The page the customer sent');
    expect(lastUser(page.req)).toContain('waterproof running shoe with a Vibram sole');
    // cached per URL
    expect(await p.deps.redis.exists(p.deps.keys.media.linkPage(`${siteUrl}/product.html`))).toBe(1);
  });

  it('a WeChat link message is read through the guarded fetcher', async () => {
    const user = `wmKBlink${Date.now()}`;
    const before = p.openai.requests.length;
    wecom.addMessages(KF, [
      { msgid: `m${Date.now()}l`, open_kfid: KF, external_userid: user, send_time: Math.floor(Date.now() / 1000), origin: 3, msgtype: 'link', link: { title: '跑鞋 shoes', desc: 'running shoe', url: `${siteUrl}/product.html`, pic_url: '' } },
    ]);
    await wechatCallback();
    await waitFor(() => wecom.sentTo(user).length >= 1, 30_000, 'the reply to the link');
    const req = p.openai.requests.slice(before).find((r) => systemOf(r).length > 0);
    expect(lastUser(req)).toContain('waterproof running shoe with a Vibram sole');
  });
});
