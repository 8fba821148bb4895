import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { resolve } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { encrypt as wecomEncrypt } from '@wecom/crypto';
import { conversationId, jobId, outboundQueueFor, type ConversationRef, type Logger, type QueueName } from '@switchboard/core';
import { syncJobFor, wechatEventId, wechatSignature } from '@switchboard/channel-wechat-kf/inbound';
import { wechatMsgid } from '@switchboard/channel-wechat-kf/outbound';
import { enqueueReply, gatewayKeys, getConversationOwner, setConversationOwner, type Producers, type RedisClient } from '@switchboard/queue';
import { createFakeGraphRouter, type GraphSend } from './fake-graph.js';
import { FakeWecom } from './fake-wecom.js';
import { createFakeTelegramRouter } from './fake-telegram.js';
import type { OfflineCoverage } from './faq-topics.js';
import { SandboxStore, type SandboxChannel, type SandboxLine, type SandboxMedia } from './store.js';
import { traceConversation } from './trace.js';

/** The sandbox's WhatsApp side: the secrets whatsapp-ingress and the workers were started with. */
export interface SandboxWhatsApp {
  appSecret: string;
  accessToken: string;
  ingressUrl: string;
  phoneNumberId: string;
}

/** The sandbox's WeChat side: the secrets wechat-ingress and the workers were started with. */
export interface SandboxWechat {
  token: string;
  aesKey: string;
  corpId: string;
  secret: string;
  ingressUrl: string;
  openKfId: string;
}

/** The sandbox's Telegram side: the secrets telegram-ingress and the workers were started with. */
export interface SandboxTelegram {
  botToken: string;
  webhookSecret: string;
  ingressUrl: string;
}

/** What the sandbox needs; built in main.ts or by tests. */
export interface SandboxOptions {
  log: Logger;
  redis: RedisClient;
  producers: Producers;
  prefix: string;
  whatsapp?: SandboxWhatsApp;
  wechat?: SandboxWechat;
  telegram?: SandboxTelegram;
  /** OPENAI_API_KEY is set: the agent answers with the LLM; otherwise FAQ/offline, and the page says so. */
  agentOnline: boolean;
  /** What the offline agent answers (FAQ topics), listed on the page in offline mode. */
  offline?: OfflineCoverage;
  /** Where the static page lives (default `apps/admin/public/sandbox`). */
  publicDir?: string;
  now?: () => number;
}

/** The sandbox's routers: the page and its API (put basic auth in front), and the fake provider APIs. */
export interface Sandbox {
  /** Mount at `/sandbox` behind the admin auth. */
  ui: Router;
  /** Mount at `/sandbox/graph` (WHATSAPP_GRAPH_URL = …/sandbox/graph/v24.0); authenticated by the bearer token. */
  graph?: Router;
  /** Mount at `/sandbox/wecom` (WECHAT_API_URL = …/sandbox/wecom); authenticated by corp id + secret. */
  wecom?: Router;
  /** Mount at `/sandbox/telegram` (TELEGRAM_API_URL = …/sandbox/telegram); authenticated by the bot token in the path. */
  telegram?: Router;
  store: SandboxStore;
}

const Channel = z.enum(['whatsapp', 'wechat-kf', 'telegram']);
const WhatsAppCustomer = z.string().regex(/^\d{6,15}$/, 'a WhatsApp customer id is 6-15 digits');
const TelegramCustomer = z.string().regex(/^[1-9]\d{4,14}$/, 'a Telegram customer id is a private chat id (5-15 digits)');
const WechatCustomer = z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, 'a WeChat customer id is 4-64 letters, digits, _ or -');
const FileUpload = z.object({ name: z.string().max(200), mimeType: z.string().max(100), dataBase64: z.string().max(22_000_000) });
const SendBody = z.object({ channel: Channel, customer: z.string(), name: z.string().max(100).optional(), text: z.string().max(4096).optional(), file: FileUpload.optional() });
const ConvBody = z.object({ channel: Channel, customer: z.string() });
const ReplyBody = ConvBody.extend({ text: z.string().min(1).max(4096) });

/** WhatsApp signs the body as Meta serialises it: JSON with every non-ASCII character \u-escaped. */
export function metaJson(payload: unknown): string {
  return JSON.stringify(payload).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `X-Hub-Signature-256` as Meta computes it over the raw body. */
export function metaSignature(raw: string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(raw, 'utf8').digest('hex')}`;
}

function mediaKind(mimeType: string): 'image' | 'audio' | 'document' {
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('audio/')) return 'audio';
  return 'document';
}

/** WeChat parts per reply the page maps back to their outbound job (a reply has at most 5: WeCom's allowance). */
const WECHAT_PARTS_TRACED = 5;

class HttpProblem extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Builds the sandbox: a local chat simulator that drives the real ingress, queues and workers. */
export function createSandbox(opts: SandboxOptions): Sandbox {
  const now = opts.now ?? Date.now;
  const store = new SandboxStore();
  const keys = gatewayKeys(opts.prefix);
  const publicDir = opts.publicDir ?? resolve(__dirname, '..', '..', 'public', 'sandbox');
  const telegramBotId = opts.telegram ? opts.telegram.botToken.split(':')[0] : undefined;
  let lastUpdateId = 0;
  const wecom = opts.wechat ? new FakeWecom({ store, corpId: opts.wechat.corpId, secret: opts.wechat.secret }) : undefined;

  const refOf = (channel: SandboxChannel, customer: string, name?: string): ConversationRef => {
    if (channel === 'whatsapp') {
      if (!opts.whatsapp) throw new HttpProblem(409, 'WhatsApp is not faked in this sandbox (a channel with real credentials never is)');
      const id = WhatsAppCustomer.parse(customer);
      return { channel, account: opts.whatsapp.phoneNumberId, userId: id, address: id, ...(name ? { displayName: name } : {}) };
    }
    if (channel === 'telegram') {
      if (!opts.telegram) throw new HttpProblem(409, 'Telegram is not faked in this sandbox (a channel with real credentials never is)');
      const id = TelegramCustomer.parse(customer);
      return { channel, account: telegramBotId!, userId: id, ...(name ? { displayName: name } : {}) };
    }
    if (!opts.wechat) throw new HttpProblem(409, 'WeChat is not faked in this sandbox (a channel with real credentials never is)');
    return { channel, account: opts.wechat.openKfId, userId: WechatCustomer.parse(customer) };
  };

  const storeUpload = (file: z.infer<typeof FileUpload>): { id: string; mimeType: string; sha256: string; bytes: Buffer } => {
    const bytes = Buffer.from(file.dataBase64, 'base64');
    if (bytes.length === 0) throw new HttpProblem(400, 'empty file');
    // WhatsApp media ids are numeric strings; WeChat's are opaque
    const id = `${randomInt(1e9, 9e9)}${randomInt(1e6, 9e6)}`;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    store.putMedia({ id, bytes, mimeType: file.mimeType || 'application/octet-stream', filename: file.name || 'upload', sha256 });
    return { id, mimeType: file.mimeType || 'application/octet-stream', sha256, bytes };
  };

  async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; ms: number }> {
    const started = now();
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      return { status: res.status, ms: now() - started };
    } catch (err) {
      opts.log.warn('sandbox webhook post failed', { url, err: err instanceof Error ? err.message : String(err) });
      return { status: 0, ms: now() - started };
    }
  }

  async function sendWhatsApp(customer: string, name: string | undefined, text: string | undefined, file: z.infer<typeof FileUpload> | undefined) {
    const wa = opts.whatsapp!;
    const ref = refOf('whatsapp', customer, name);
    const convId = conversationId(ref);
    const wamid = `wamid.SBX${randomBytes(16).toString('hex').toUpperCase()}`;
    const message: Record<string, unknown> = { from: ref.userId, id: wamid, timestamp: String(Math.floor(now() / 1000)) };
    let media: SandboxMedia | undefined;
    if (file) {
      const up = storeUpload(file);
      const kind = mediaKind(up.mimeType);
      message.type = kind;
      if (kind === 'image') message.image = { id: up.id, mime_type: up.mimeType, sha256: up.sha256, ...(text ? { caption: text } : {}) };
      else if (kind === 'audio') message.audio = { id: up.id, mime_type: up.mimeType, sha256: up.sha256, voice: true };
      else message.document = { id: up.id, mime_type: up.mimeType, sha256: up.sha256, filename: file.name, ...(text ? { caption: text } : {}) };
      media = { kind, url: `/sandbox/media/${up.id}`, mimeType: up.mimeType, filename: file.name };
    } else {
      message.type = 'text';
      message.text = { body: text ?? '' };
    }
    const payload = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '100000000000000',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550000000', phone_number_id: wa.phoneNumberId },
                contacts: [{ profile: { name: name ?? 'Sandbox customer' }, wa_id: ref.userId }],
                messages: [message],
              },
            },
          ],
        },
      ],
    };
    const raw = metaJson(payload);
    const postedAt = now();
    const line = store.add(convId, 'whatsapp', {
      author: 'customer',
      text: text ?? '',
      ...(media ? { media } : {}),
      at: postedAt,
      providerMessageId: wamid,
      trace: { eventId: jobId('wa', wa.phoneNumberId, wamid), postedAt },
    });
    const result = await post(`${wa.ingressUrl}/webhooks/whatsapp`, raw, { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(raw, wa.appSecret) });
    store.patch(convId, line.id, { trace: { ...line.trace!, ingressStatus: result.status, ingressMs: result.ms } });
    return { conversationId: convId, lineId: line.id, ingressStatus: result.status };
  }

  async function sendWechat(customer: string, text: string | undefined, file: z.infer<typeof FileUpload> | undefined) {
    const wx = opts.wechat!;
    const fake = wecom!;
    const ref = refOf('wechat-kf', customer);
    const convId = conversationId(ref);
    const msgid = `sbx${randomBytes(12).toString('hex')}`;
    const item: Record<string, unknown> & { msgid: string } = { msgid, open_kfid: wx.openKfId, external_userid: ref.userId, send_time: Math.floor(now() / 1000), origin: 3 };
    let media: SandboxMedia | undefined;
    if (file) {
      const up = storeUpload(file);
      const kind = mediaKind(up.mimeType);
      const msgtype = kind === 'image' ? 'image' : kind === 'audio' ? 'voice' : 'file';
      item.msgtype = msgtype;
      item[msgtype] = { media_id: up.id };
      media = { kind, url: `/sandbox/media/${up.id}`, mimeType: up.mimeType, filename: file.name };
    } else {
      item.msgtype = 'text';
      item.text = { content: text ?? '' };
    }
    fake.addCustomerItem(wx.openKfId, item);
    // the callback carries no message: only a sync token and the account, exactly like WeCom's
    const token = fake.callbackToken();
    const createTime = Math.floor(now() / 1000);
    const xml =
      `<xml><ToUserName><![CDATA[${wx.corpId}]]></ToUserName><CreateTime>${createTime}</CreateTime>` +
      `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>` +
      `<Token><![CDATA[${token}]]></Token><OpenKfId><![CDATA[${wx.openKfId}]]></OpenKfId></xml>`;
    const encrypted = wecomEncrypt(wx.aesKey, xml, wx.corpId);
    const timestamp = String(createTime);
    const nonce = String(randomInt(1e9, 2e9));
    const signature = wechatSignature(wx.token, timestamp, nonce, encrypted);
    const body = `<xml><ToUserName><![CDATA[${wx.corpId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`;
    const sync = syncJobFor({ kind: 'kf_msg_or_event', toUserName: wx.corpId, createTime, token, openKfId: wx.openKfId }, wx.corpId, now(), Buffer.from(body));
    const postedAt = now();
    const line = store.add(convId, 'wechat-kf', {
      author: 'customer',
      text: text ?? '',
      ...(media ? { media } : {}),
      at: postedAt,
      providerMessageId: msgid,
      trace: { syncJobId: sync.jobId, eventId: wechatEventId(wx.openKfId, msgid), postedAt },
    });
    const search = new URLSearchParams({ msg_signature: signature, timestamp, nonce }).toString();
    const result = await post(`${wx.ingressUrl}/webhooks/wechat-kf?${search}`, body, { 'content-type': 'text/xml; charset=utf-8' });
    store.patch(convId, line.id, { trace: { ...line.trace!, ingressStatus: result.status, ingressMs: result.ms } });
    return { conversationId: convId, lineId: line.id, ingressStatus: result.status };
  }

  async function sendTelegram(customer: string, name: string | undefined, text: string | undefined, file: z.infer<typeof FileUpload> | undefined) {
    const tg = opts.telegram!;
    const ref = refOf('telegram', customer, name);
    const convId = conversationId(ref);
    // update ids only grow, across restarts too (the ingress deduplicates by bot + update_id for 7 days)
    const updateId = Math.max(lastUpdateId + 1, Math.floor((now() - Date.UTC(2026, 0, 1)) / 100));
    lastUpdateId = updateId;
    const chatId = Number(ref.userId);
    const first = name ?? 'Sandbox customer';
    const message: Record<string, unknown> = {
      message_id: updateId,
      from: { id: chatId, is_bot: false, first_name: first, language_code: 'en' },
      chat: { id: chatId, type: 'private', first_name: first },
      date: Math.floor(now() / 1000),
    };
    let media: SandboxMedia | undefined;
    if (file) {
      const up = storeUpload(file);
      const kind = mediaKind(up.mimeType);
      const descriptor = { file_id: up.id, file_unique_id: `u${up.id.slice(-8)}`, file_size: up.bytes.length };
      if (kind === 'image') message.photo = [{ ...descriptor, width: 320, height: 320 }];
      else if (kind === 'audio') message.voice = { ...descriptor, duration: 1, mime_type: up.mimeType };
      else message.document = { ...descriptor, file_name: file.name, mime_type: up.mimeType };
      if (text) message.caption = text;
      media = { kind, url: `/sandbox/media/${up.id}`, mimeType: up.mimeType, filename: file.name };
    } else {
      message.text = text ?? '';
    }
    const raw = JSON.stringify({ update_id: updateId, message });
    const postedAt = now();
    const line = store.add(convId, 'telegram', {
      author: 'customer',
      text: text ?? '',
      ...(media ? { media } : {}),
      at: postedAt,
      providerMessageId: `${chatId}:${updateId}`,
      trace: { eventId: jobId('tg', telegramBotId!, updateId), postedAt },
    });
    const result = await post(`${tg.ingressUrl}/webhooks/telegram`, raw, { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': tg.webhookSecret });
    store.patch(convId, line.id, { trace: { ...line.trace!, ingressStatus: result.status, ingressMs: result.ms } });
    return { conversationId: convId, lineId: line.id, ingressStatus: result.status };
  }

  /** WhatsApp reports every accepted message back as `sent` then `delivered` statuses; so does the sandbox. */
  function postStatuses(send: GraphSend): void {
    const wa = opts.whatsapp;
    if (!wa) return;
    const ts = String(Math.floor(now() / 1000));
    const status = (s: string) => ({ id: send.wamid, status: s, timestamp: ts, recipient_id: send.to, ...(send.callbackData ? { biz_opaque_callback_data: send.callbackData } : {}) });
    const payload = {
      object: 'whatsapp_business_account',
      entry: [{ id: '100000000000000', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: send.phoneNumberId }, statuses: [status('sent'), status('delivered')] } }] }],
    };
    const raw = metaJson(payload);
    void post(`${wa.ingressUrl}/webhooks/whatsapp`, raw, { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(raw, wa.appSecret) });
  }

  /** Queues on a channel's path without any connected worker, so the page can say why nothing moves. */
  async function idleQueues(channel: SandboxChannel): Promise<QueueName[]> {
    const path: QueueName[] = channel === 'wechat-kf' ? ['wechat-sync', 'turn', 'outbound-wechat-kf'] : ['turn', outboundQueueFor(channel)];
    try {
      const counts = await Promise.all(path.map((name) => opts.producers.queue(name).getWorkersCount()));
      return path.filter((_, i) => counts[i] === 0);
    } catch {
      // CLIENT LIST may be refused by a managed Redis: then say nothing rather than something wrong
      return [];
    }
  }

  const handle = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) => {
    fn(req, res).catch((err: unknown) => {
      if (err instanceof z.ZodError) {
        res.status(400).json({ error: err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
        return;
      }
      if (err instanceof HttpProblem) {
        res.status(err.status).json({ error: err.message });
        return;
      }
      opts.log.error('sandbox request failed', { path: req.path, err: err instanceof Error ? err.message : String(err) });
      res.status(500).json({ error: 'sandbox error' });
    });
  };

  const ui = express.Router();
  ui.get('/', (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile(resolve(publicDir, 'index.html'));
  });
  ui.use('/assets', express.static(publicDir, { index: false, maxAge: 0 }));
  ui.get('/media/:id', (req, res) => {
    const m = store.getMedia(req.params.id);
    if (!m) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    res.set('Content-Type', m.mimeType).send(m.bytes);
  });
  ui.get('/api/info', (_req, res) => {
    res.json({
      agent: opts.agentOnline ? 'online' : 'offline',
      agentNote: opts.agentOnline
        ? 'The agent answers with the configured LLM (OPENAI_API_KEY is set).'
        : 'Offline mode: OPENAI_API_KEY is not set, so the agent answers from its FAQ and sends an offline notice for everything else.',
      ...(opts.offline ? { offline: opts.offline } : {}),
      channels: {
        whatsapp: opts.whatsapp ? { enabled: true, phoneNumberId: opts.whatsapp.phoneNumberId, ingress: opts.whatsapp.ingressUrl } : { enabled: false },
        'wechat-kf': opts.wechat ? { enabled: true, openKfId: opts.wechat.openKfId, ingress: opts.wechat.ingressUrl } : { enabled: false },
        telegram: opts.telegram ? { enabled: true, botId: telegramBotId, ingress: opts.telegram.ingressUrl } : { enabled: false },
      },
    });
  });
  ui.post(
    '/api/messages',
    express.json({ limit: '25mb' }),
    handle(async (req, res) => {
      const body = SendBody.parse(req.body);
      if (!body.file && !body.text?.trim()) throw new HttpProblem(400, 'type a message or attach a file');
      refOf(body.channel, body.customer, body.name);
      const result =
        body.channel === 'whatsapp'
          ? await sendWhatsApp(body.customer, body.name, body.text, body.file)
          : body.channel === 'telegram'
            ? await sendTelegram(body.customer, body.name, body.text, body.file)
            : await sendWechat(body.customer, body.text, body.file);
      res.status(result.ingressStatus === 200 ? 202 : 502).json({ ...result, ok: result.ingressStatus === 200 });
    }),
  );
  ui.get(
    '/api/conversation',
    handle(async (req, res) => {
      const q = ConvBody.parse(req.query);
      const ref = refOf(q.channel, q.customer);
      const convId = conversationId(ref);
      const lines: SandboxLine[] = store.lines(convId);
      const [owner, traces, idle] = await Promise.all([
        getConversationOwner(opts.redis, opts.prefix, convId),
        traceConversation(opts.producers, opts.redis, opts.prefix, q.channel, convId, lines),
        idleQueues(q.channel),
      ]);
      // WeChat echoes only a msgid per part (derived from the outbound id): map the bot's parts back to
      // their outbound job, so the page can label each bubble with the turn's source
      const wechatOutbound = new Map<string, string>();
      if (q.channel === 'wechat-kf') {
        for (const trace of Object.values(traces)) {
          for (const step of trace.steps) {
            if (step.queue !== 'outbound-wechat-kf') continue;
            for (let part = 0; part < WECHAT_PARTS_TRACED; part++) wechatOutbound.set(wechatMsgid(step.jobId, part), step.jobId);
          }
        }
      }
      res.set('Cache-Control', 'no-store').json({
        conversationId: convId,
        owner: owner.owner,
        ...(owner.record ? { ownerReason: owner.record.reason, ownerSince: owner.record.at } : {}),
        ...(q.channel === 'wechat-kf' && wecom ? { wecomServiceState: wecom.serviceState(ref.account, ref.userId) } : {}),
        /** Queues of this channel's path that no worker consumes (e.g. a role not running). */
        idleQueues: idle,
        lines: lines.map((l) => ({ ...l, ...(l.outboundId === undefined && wechatOutbound.has(l.providerMessageId ?? '') ? { outboundId: wechatOutbound.get(l.providerMessageId!) } : {}), ...(traces[l.id] ? { path: traces[l.id] } : {}) })),
      });
    }),
  );
  ui.post(
    '/api/takeover',
    express.json(),
    handle(async (req, res) => {
      const body = ConvBody.parse(req.body);
      const convId = conversationId(refOf(body.channel, body.customer));
      await setConversationOwner(opts.redis, opts.prefix, convId, 'human', 'taken over in the sandbox', now());
      store.add(convId, body.channel, { author: 'system', text: 'A support agent took over: the bot stays silent.', at: now() });
      opts.log.info('sandbox take over', { channel: body.channel, conversation: convId });
      res.json({ conversationId: convId, owner: 'human' });
    }),
  );
  ui.post(
    '/api/handback',
    express.json(),
    handle(async (req, res) => {
      const body = ConvBody.parse(req.body);
      const ref = refOf(body.channel, body.customer);
      const convId = conversationId(ref);
      await setConversationOwner(opts.redis, opts.prefix, convId, 'bot', 'handed back in the sandbox', now());
      // a 微信客服 session held by a person (2 queue / 3 servicer) goes back to the bot, as ending it in WeCom would
      if (wecom && body.channel === 'wechat-kf' && [2, 3].includes(wecom.serviceState(ref.account, ref.userId))) wecom.setServiceState(ref.account, ref.userId, 1);
      store.add(convId, body.channel, { author: 'system', text: 'Handed back to the bot.', at: now() });
      opts.log.info('sandbox hand back', { channel: body.channel, conversation: convId });
      res.json({ conversationId: convId, owner: 'bot' });
    }),
  );
  ui.post(
    '/api/reply',
    express.json(),
    handle(async (req, res) => {
      const body = ReplyBody.parse(req.body);
      const ref = refOf(body.channel, body.customer);
      const convId = conversationId(ref);
      const outboundId = jobId('hum', convId, `${now().toString(36)}${randomBytes(3).toString('hex')}`);
      const ids = [outboundId];
      // WeChat echoes only the msgid of each part; remember those of the first parts too
      if (body.channel === 'wechat-kf') for (let i = 0; i < 5; i++) ids.push(wechatMsgid(outboundId, i));
      store.markHuman(ids, outboundId);
      const line = store.add(convId, body.channel, { author: 'human', text: body.text, at: now(), outboundId });
      // in order: the worker waits for the conversation's previous reply first
      await enqueueReply({ redis: opts.redis, producers: opts.producers, keys }, ref, { outboundId, reply: { text: body.text }, origin: 'human' });
      res.status(202).json({ conversationId: convId, outboundId, lineId: line.id });
    }),
  );

  const sandbox: Sandbox = { ui, store };
  if (opts.whatsapp) sandbox.graph = createFakeGraphRouter({ store, accessToken: opts.whatsapp.accessToken, onSent: postStatuses });
  if (wecom) sandbox.wecom = wecom.router();
  if (opts.telegram) sandbox.telegram = createFakeTelegramRouter({ store, botToken: opts.telegram.botToken, botId: telegramBotId! });
  return sandbox;
}
