import { createHash, randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { conversationId, parseMultipart, type FormPart } from '@switchboard/core';
import { safeEqual } from '../auth.js';
import type { SandboxMedia, SandboxStore } from './store.js';

/** A `kf/sync_msg` item as WeCom sends it (raw wire JSON). */
export type WecomSyncItem = Record<string, unknown> & { msgid: string };

/** Options of {@link FakeWecom}. */
export interface FakeWecomOptions {
  store: SandboxStore;
  corpId: string;
  /** The kf secret the workers use for `gettoken` (WECHAT_SECRET). */
  secret: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const TOKEN_TTL_SEC = 7200;
const CALLBACK_TOKEN_TTL_MS = 10 * 60_000;
/** Session state transitions WeCom allows (0 untreated, 1 bot, 2 queue, 3 human, 4 ended). */
const TRANSITIONS: Record<number, number[]> = { 0: [1, 2, 3, 4], 1: [2, 3, 4], 2: [3, 4], 3: [3, 4], 4: [] };
const MSGID_RE = /^[0-9a-zA-Z_-]{1,32}$/;
const MAX_LOG = 5000;

/**
 * A 微信客服 (WeCom kf) compatible fake, mounted at `/sandbox/wecom` so that
 * `WECHAT_API_URL=http://host:3000/sandbox/wecom` works unchanged: `cgi-bin/gettoken`,
 * `kf/sync_msg` (cursor, has_more, callback token), `kf/send_msg` (48 h window, 5 replies per
 * customer message, session state, msgid dedupe), `kf/send_msg_on_event`, `kf/service_state/get|trans`,
 * `media/upload|get`. Same wire format as the testkit fake (production code must not import testkit).
 */
export class FakeWecom {
  private readonly tokens = new Map<string, number>();
  private readonly callbackTokens = new Map<string, number>();
  private readonly log: Array<{ kfid: string; item: WecomSyncItem }> = [];
  private offset = 0;
  private readonly states = new Map<string, number>();
  private readonly allowance = new Map<string, { lastCustomerAt: number; sent: number }>();
  private readonly seenMsgids = new Set<string>();
  private readonly welcomeCodes = new Map<string, { at: number; used: boolean }>();

  constructor(private readonly opts: FakeWecomOptions) {}

  /** Issues a callback `Token` (what a `kf_msg_or_event` callback carries), valid 10 minutes. */
  callbackToken(): string {
    const t = `ENC${randomBytes(18).toString('base64url')}`;
    const now = Date.now();
    this.callbackTokens.set(t, now + CALLBACK_TOKEN_TTL_MS);
    for (const [k, exp] of this.callbackTokens) if (exp < now) this.callbackTokens.delete(k);
    return t;
  }

  /** Appends a customer item (origin 3) to the account's message log; renews the reply allowance. */
  addCustomerItem(openKfId: string, item: WecomSyncItem): void {
    this.log.push({ kfid: openKfId, item });
    if (this.log.length > MAX_LOG) {
      this.log.shift();
      this.offset += 1;
    }
    const user = str(item['external_userid']);
    if (item['origin'] === 3 && user) {
      const key = `${openKfId}|${user}`;
      this.allowance.set(key, { lastCustomerAt: Date.now(), sent: 0 });
      const st = this.states.get(key);
      if (st === undefined || st === 4) this.states.set(key, 0);
    }
    const ev = obj(item['event']);
    const code = str(ev['welcome_code']);
    if (code) this.welcomeCodes.set(code, { at: Date.now(), used: false });
  }

  /** Session state of a customer (0 when unknown). */
  serviceState(openKfId: string, userId: string): number {
    return this.states.get(`${openKfId}|${userId}`) ?? 0;
  }

  /** Sets the session state (the sandbox's "hand back" ends a human session like a servicer would). */
  setServiceState(openKfId: string, userId: string, state: number): void {
    this.states.set(`${openKfId}|${userId}`, state);
  }

  /** Express router for `/cgi-bin/*`. */
  router(): Router {
    const r = express.Router();
    r.use(express.json({ limit: '1mb' }));
    r.get('/cgi-bin/gettoken', (req, res) => {
      const corpid = String(req.query['corpid'] ?? '');
      const secret = String(req.query['corpsecret'] ?? '');
      if (corpid !== this.opts.corpId) return void res.json({ errcode: 40013, errmsg: 'invalid corpid' });
      if (!safeEqual(secret, this.opts.secret)) return void res.json({ errcode: 40001, errmsg: 'invalid credential' });
      const token = `at_${randomBytes(16).toString('hex')}`;
      this.tokens.set(token, Date.now() + TOKEN_TTL_SEC * 1000);
      res.json({ errcode: 0, errmsg: 'ok', access_token: token, expires_in: TOKEN_TTL_SEC });
    });
    const guarded = (handler: (req: Request, res: Response) => void) => (req: Request, res: Response) => {
      const token = String(req.query['access_token'] ?? '');
      if (!token) return void res.json({ errcode: 41001, errmsg: 'access_token missing' });
      const exp = this.tokens.get(token);
      if (exp === undefined) return void res.json({ errcode: 40014, errmsg: 'invalid access_token' });
      if (exp < Date.now()) return void res.json({ errcode: 42001, errmsg: 'access_token expired' });
      handler(req, res);
    };
    r.post('/cgi-bin/kf/sync_msg', guarded((req, res) => res.json(this.syncMsg(obj(req.body)))));
    r.post('/cgi-bin/kf/send_msg', guarded((req, res) => res.json(this.sendMsg(obj(req.body)))));
    r.post('/cgi-bin/kf/send_msg_on_event', guarded((req, res) => res.json(this.sendOnEvent(obj(req.body)))));
    r.post(
      '/cgi-bin/kf/service_state/get',
      guarded((req, res) => {
        const b = obj(req.body);
        res.json({ errcode: 0, errmsg: 'ok', service_state: this.serviceState(String(b['open_kfid']), String(b['external_userid'])) });
      }),
    );
    r.post('/cgi-bin/kf/service_state/trans', guarded((req, res) => res.json(this.trans(obj(req.body)))));
    r.get(
      '/cgi-bin/media/get',
      guarded((req, res) => {
        const m = this.opts.store.getMedia(String(req.query['media_id'] ?? ''));
        if (!m) return void res.json({ errcode: 40007, errmsg: 'invalid media_id' });
        res.set('Content-Type', m.mimeType).set('Content-Disposition', `attachment; filename="${m.filename}"`).send(m.bytes);
      }),
    );
    r.post(
      '/cgi-bin/media/upload',
      express.raw({ type: () => true, limit: '25mb' }),
      guarded((req, res) => {
        const type = String(req.query['type'] ?? '');
        if (!['image', 'voice', 'video', 'file'].includes(type)) return void res.json({ errcode: 40004, errmsg: 'invalid media type' });
        const file = mediaPart(parseMultipart(String(req.headers['content-type'] ?? ''), Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)).get('media'));
        if (!file || file.bytes.length <= 5) return void res.json({ errcode: 40006, errmsg: 'invalid file size' });
        const id = `mid_${randomBytes(10).toString('hex')}`;
        this.opts.store.putMedia({ id, bytes: file.bytes, mimeType: file.contentType, filename: file.filename, sha256: createHash('sha256').update(file.bytes).digest('hex') });
        res.json({ errcode: 0, errmsg: 'ok', type, media_id: id, created_at: String(Math.floor(Date.now() / 1000)) });
      }),
    );
    r.use((_req, res) => {
      res.status(404).json({ errcode: 404, errmsg: 'no such api in the sandbox' });
    });
    return r;
  }

  private syncMsg(b: Obj): Obj {
    const token = str(b['token']);
    if (token !== undefined) {
      const exp = this.callbackTokens.get(token);
      if (exp === undefined || exp < Date.now()) return { errcode: 95007, errmsg: 'invalid msg token', msg_list: [] };
    }
    const cursor = str(b['cursor']) ?? '';
    let start = this.offset;
    if (cursor) {
      const m = /^c(\d+)$/.exec(cursor);
      if (!m) return { errcode: 40058, errmsg: 'invalid cursor', msg_list: [] };
      start = Math.max(Number(m[1]), this.offset);
    }
    const kfid = str(b['open_kfid']);
    const limit = Math.min(1000, Math.max(1, Number(b['limit'] ?? 1000)));
    const items: WecomSyncItem[] = [];
    let i = start;
    for (; i - this.offset < this.log.length && items.length < limit; i += 1) {
      const e = this.log[i - this.offset];
      if (e && (!kfid || e.kfid === kfid)) items.push(e.item);
    }
    const hasMore = this.log.slice(i - this.offset).some((e) => !kfid || e.kfid === kfid);
    return { errcode: 0, errmsg: 'ok', next_cursor: `c${i}`, has_more: hasMore ? 1 : 0, msg_list: items };
  }

  private sendMsg(b: Obj): Obj {
    const touser = String(b['touser'] ?? '');
    const kfid = String(b['open_kfid'] ?? '');
    const msgtype = String(b['msgtype'] ?? '');
    const msgid = str(b['msgid']);
    if (!touser || !kfid || !msgtype) return { errcode: 40058, errmsg: 'missing touser, open_kfid or msgtype' };
    if (msgid !== undefined && !MSGID_RE.test(msgid)) return { errcode: 40058, errmsg: 'invalid msgid' };
    if (msgid && this.seenMsgids.has(`${kfid}|${msgid}`)) return { errcode: 0, errmsg: 'ok', msgid };
    const shown = describeKfMessage(b);
    if (msgtype === 'text' && !shown.text) return { errcode: 44004, errmsg: 'empty content' };
    if (msgtype === 'text' && Buffer.byteLength(shown.text, 'utf8') > 2048) return { errcode: 45002, errmsg: 'content size out of limit' };
    const key = `${kfid}|${touser}`;
    const state = this.states.get(key) ?? 0;
    if (state !== 0 && state !== 1) return { errcode: 95018, errmsg: 'send msg session status invalid' };
    const allow = this.allowance.get(key);
    if (!allow) return { errcode: 95031, errmsg: 'customer has not sent a message within 48h' };
    if (Date.now() - allow.lastCustomerAt > 48 * 3600_000) return { errcode: 95002, errmsg: 'over 48h' };
    if (allow.sent >= 5) return { errcode: 95001, errmsg: 'send msg count limit' };
    allow.sent += 1;
    const id = msgid ?? `auto${randomBytes(12).toString('hex')}`;
    this.seenMsgids.add(`${kfid}|${id}`);
    const convId = conversationId({ channel: 'wechat-kf', account: kfid, userId: touser });
    const now = Date.now();
    if (!this.opts.store.deliverHuman(convId, id, id, now)) {
      this.opts.store.add(convId, 'wechat-kf', {
        author: 'bot',
        text: shown.text,
        ...(shown.media ? { media: shown.media } : {}),
        at: now,
        deliveredAt: now,
        providerMessageId: id,
      });
    }
    return { errcode: 0, errmsg: 'ok', msgid: id };
  }

  private sendOnEvent(b: Obj): Obj {
    const code = String(b['code'] ?? '');
    const wc = this.welcomeCodes.get(code);
    if (!wc || wc.used || Date.now() - wc.at > 20_000) return { errcode: 95020, errmsg: 'invalid or expired code' };
    wc.used = true;
    const msgid = str(b['msgid']);
    return { errcode: 0, errmsg: 'ok', ...(msgid ? { msgid } : {}) };
  }

  private trans(b: Obj): Obj {
    const key = `${String(b['open_kfid'] ?? '')}|${String(b['external_userid'] ?? '')}`;
    const to = Number(b['service_state']);
    const from = this.states.get(key) ?? 0;
    if (!(TRANSITIONS[from] ?? []).includes(to)) return { errcode: 95016, errmsg: 'state transition not allowed' };
    if (to === 3 && typeof b['servicer_userid'] !== 'string') return { errcode: 40058, errmsg: 'servicer_userid required' };
    this.states.set(key, to);
    return { errcode: 0, errmsg: 'ok', ...(to >= 2 ? { msg_code: `MC${randomBytes(8).toString('hex')}` } : {}) };
  }
}

/** What the customer's WeChat would show for a `send_msg` body. */
export function describeKfMessage(b: Obj): { text: string; media?: SandboxMedia } {
  const type = String(b['msgtype'] ?? '');
  const body = obj(b[type]);
  switch (type) {
    case 'text':
      return { text: str(body['content']) ?? '' };
    case 'msgmenu': {
      const items = ((body['list'] as unknown[] | undefined) ?? []).map((i) => str(obj(obj(i)['click'])['content']) ?? str(obj(obj(i)['text'])['content'])).filter(Boolean);
      return { text: [str(body['head_content']), items.map((i) => `[ ${i} ]`).join(' '), str(body['tail_content'])].filter(Boolean).join('\n') };
    }
    case 'link':
      return { text: `${str(body['title']) ?? ''} ${str(body['url']) ?? ''}`.trim() };
    case 'image':
    case 'voice':
    case 'video':
    case 'file': {
      const id = str(body['media_id']);
      return { text: '', media: { kind: type, ...(id ? { url: `/sandbox/media/${id}` } : {}) } };
    }
    default:
      return { text: `[${type}]` };
  }
}

/** The uploaded `media` part with the defaults WeCom applies (octet-stream, "file"). */
function mediaPart(part: FormPart | undefined): { bytes: Buffer; contentType: string; filename: string } | undefined {
  return part && { bytes: part.bytes, contentType: part.contentType ?? 'application/octet-stream', filename: part.filename ?? 'file' };
}
