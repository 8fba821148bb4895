import { parseMultipart, type FormPart } from '@switchboard/core';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { encrypt as wecomEncrypt, getSignature } from '@wecom/crypto';

/**
 * A fake WeCom (企业微信) API on 127.0.0.1 speaking the 微信客服 wire format: `gettoken`,
 * `kf/sync_msg` (cursor, has_more, callback token, untokened rate limit), `kf/send_msg` (5-message
 * allowance, 48 h window, service state, msgid dedupe), `kf/send_msg_on_event`,
 * `kf/service_state/get|trans`, `kf/customer/batchget` (only customers active in the last 48 h;
 * unknown or inactive ids in `invalid_external_userid`), `media/upload|get`, plus scriptable
 * errcode/HTTP failures.
 * Behaviour follows WeCom's 微信客服 API as summarised in docs/channels/wechat-kf.md.
 */

/** Where the copied wechat-kf fixtures live. */
export const WECHAT_FIXTURES_DIR = resolve(__dirname, '..', 'fixtures', 'wechat-kf');

/** The fixtures' test configuration (not a real corp). */
export const WECHAT_TEST_CONFIG = Object.freeze({
  token: 'gwTestToken2026',
  encodingAESKey: 'tUb5GBrs6hmnFEnpcEBOoLFNehgkQzHJgQ4MJbqe2Hp',
  corpId: 'ww7c3e9a1f5b2d4e60',
});

/** One request the fake received. */
export interface FakeWecomCall {
  readonly api: string;
  readonly method: string;
  readonly query: Record<string, string>;
  readonly body: unknown;
  readonly errcode: number;
  readonly httpStatus: number;
  readonly at: number;
}

/** A message accepted by `kf/send_msg` (one per distinct msgid). */
export interface FakeSentMessage {
  readonly touser: string;
  readonly open_kfid: string;
  readonly msgid: string;
  readonly msgtype: string;
  readonly body: Record<string, unknown>;
  readonly at: number;
}

/** A customer as `kf/customer/batchget` describes them. */
export interface FakeWecomCustomer {
  nickname: string;
  avatar?: string;
  /** 0 unknown, 1 male, 2 female. */
  gender?: number;
  unionid?: string;
}

/** A `kf/sync_msg` item as the fake stores it (raw wire JSON). */
export type FakeSyncItem = Record<string, unknown> & { msgid: string };

export interface FakeWecomOptions {
  corpId?: string;
  secret?: string;
  /** `expires_in` of issued access tokens. */
  tokenTtlSec?: number;
  /** Calls of `sync_msg` without a token allowed per minute before 45009 (WeCom: about 10). */
  untokenedSyncPerMinute?: number;
}

type Failure = { api: string; times: number } & ({ errcode: number; errmsg: string } | { httpStatus: number });

const TRANSITIONS: Record<number, number[]> = { 0: [1, 2, 3, 4], 1: [2, 3, 4], 2: [3, 4], 3: [3, 4], 4: [] };
const MSGID_RE = /^[0-9a-zA-Z_-]{1,32}$/;

/** The fake server. Create with {@link FakeWecom.start}; always `close()` it. */
export class FakeWecom {
  readonly corpId: string;
  readonly secret: string;
  url = '';
  readonly calls: FakeWecomCall[] = [];
  readonly sent: FakeSentMessage[] = [];
  readonly sentOnEvent: Array<{ code: string; msgid?: string; msgtype: string; body: Record<string, unknown>; at: number }> = [];
  readonly transitions: Array<{ openKfId: string; userId: string; from: number; to: number; servicer?: string }> = [];
  readonly uploads: Array<{ mediaId: string; type: string; filename: string; contentType: string; size: number }> = [];
  tokensIssued = 0;

  private server: Server | undefined;
  /** Other corps served by this fake's server ({@link addCorp}). */
  private readonly corps: FakeWecom[] = [];
  private readonly opts: Required<FakeWecomOptions>;
  private readonly log: Array<{ kfid: string; item: FakeSyncItem }> = [];
  private readonly accessTokens = new Map<string, { expiresAt: number; expired: boolean }>();
  private readonly callbackTokens = new Map<string, number>();
  private readonly failures: Failure[] = [];
  private readonly emptyPages = new Map<string, number>();
  private readonly states = new Map<string, { state: number; servicer?: string }>();
  private readonly allowance = new Map<string, { lastCustomerAt: number; sent: number }>();
  private readonly seenMsgids = new Set<string>();
  private readonly welcomeCodes = new Map<string, { at: number; used: boolean }>();
  private readonly media = new Map<string, { bytes: Buffer; contentType: string; filename: string }>();
  private readonly untokened: number[] = [];
  private readonly customers = new Map<string, FakeWecomCustomer & { activeAt: number }>();
  private pageSize = 1000;
  private readonly latency = new Map<string, number>();
  private cursorSeq = 0;

  private constructor(opts: FakeWecomOptions) {
    this.opts = {
      corpId: opts.corpId ?? WECHAT_TEST_CONFIG.corpId,
      secret: opts.secret ?? 'fake-kf-secret',
      tokenTtlSec: opts.tokenTtlSec ?? 7200,
      untokenedSyncPerMinute: opts.untokenedSyncPerMinute ?? 10,
    };
    this.corpId = this.opts.corpId;
    this.secret = this.opts.secret;
  }

  /** Starts the fake on a random loopback port. */
  static async start(opts: FakeWecomOptions = {}): Promise<FakeWecom> {
    const fake = new FakeWecom(opts);
    fake.server = createServer((req, res) => {
      fake.handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
    await new Promise<void>((r) => fake.server!.listen(0, '127.0.0.1', r));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /**
   * Another corp on the same server (every corp shares one WECHAT_API_URL, as with WeCom): its own
   * corpid and secret, access tokens, callback tokens, message store, sends, service states and
   * calls. `gettoken` is routed by `corpid`, every other API to the corp that issued the access
   * token, so a token of one corp never reads or sends as another. Script the returned corp as a
   * fake of its own; `close()` the first one.
   */
  addCorp(opts: FakeWecomOptions & { corpId: string }): FakeWecom {
    if ([this, ...this.corps].some((c) => c.corpId === opts.corpId)) throw new Error(`fake WeCom already serves corp ${opts.corpId}`);
    const corp = new FakeWecom({ tokenTtlSec: this.opts.tokenTtlSec, untokenedSyncPerMinute: this.opts.untokenedSyncPerMinute, ...opts, secret: opts.secret ?? `fake-kf-secret-${opts.corpId}` });
    corp.url = this.url;
    this.corps.push(corp);
    return corp;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  // ---- scripting -------------------------------------------------------------------------

  /** Issues a callback `Token` for sync_msg (what a kf_msg_or_event callback carries), valid 10 min. */
  callbackToken(): string {
    const t = `ENC${randomBytes(18).toString('base64url')}`;
    this.callbackTokens.set(t, Date.now() + 10 * 60_000);
    return t;
  }

  /** Appends raw `msg_list` items for an account (in order). Customer messages renew the allowance. */
  addMessages(openKfId: string, items: FakeSyncItem[]): void {
    for (const item of items) {
      this.log.push({ kfid: openKfId, item });
      const user = typeof item['external_userid'] === 'string' ? item['external_userid'] : undefined;
      if (item['origin'] === 3 && user) {
        const at = typeof item['send_time'] === 'number' ? item['send_time'] * 1000 : Date.now();
        this.allowance.set(`${openKfId}|${user}`, { lastCustomerAt: at, sent: 0 });
        const known = this.customers.get(user);
        if (known) known.activeAt = Math.max(known.activeAt, at);
        const st = this.states.get(`${openKfId}|${user}`);
        if (!st || st.state === 4) this.states.set(`${openKfId}|${user}`, { state: 0 });
      }
      const ev = item['event'] as Record<string, unknown> | undefined;
      if (ev && typeof ev['welcome_code'] === 'string') {
        this.welcomeCodes.set(ev['welcome_code'], { at: typeof item['send_time'] === 'number' ? item['send_time'] * 1000 : Date.now(), used: false });
      }
    }
  }

  /** Builds, stores and returns a customer text message (origin 3). */
  customerText(openKfId: string, userId: string, content: string, extra: { msgid?: string; sendTime?: number; menuId?: string } = {}): FakeSyncItem {
    const item: FakeSyncItem = {
      msgid: extra.msgid ?? `m${randomBytes(12).toString('hex')}`,
      open_kfid: openKfId,
      external_userid: userId,
      send_time: extra.sendTime ?? Math.floor(Date.now() / 1000),
      origin: 3,
      msgtype: 'text',
      text: { content, ...(extra.menuId ? { menu_id: extra.menuId } : {}) },
    };
    this.addMessages(openKfId, [item]);
    return item;
  }

  /** Builds, stores and returns a message a human servicer typed in the WeCom client (origin 5). */
  servicerText(openKfId: string, userId: string, servicer: string, content: string): FakeSyncItem {
    const item: FakeSyncItem = {
      msgid: `s${randomBytes(12).toString('hex')}`,
      open_kfid: openKfId,
      external_userid: userId,
      send_time: Math.floor(Date.now() / 1000),
      origin: 5,
      servicer_userid: servicer,
      msgtype: 'text',
      text: { content },
    };
    this.addMessages(openKfId, [item]);
    this.states.set(`${openKfId}|${userId}`, { state: 3, servicer });
    return item;
  }

  /**
   * A customer `kf/customer/batchget` knows (nickname, avatar…), active now; a customer message
   * added later keeps them active. `activeAt` in the past (more than 48 h) makes them unknown to batchget.
   */
  setCustomer(userId: string, customer: FakeWecomCustomer, activeAt = Date.now()): void {
    this.customers.set(userId, { ...customer, activeAt });
  }

  /** Maximum items per sync page (below `limit`, to force paging). */
  setPageSize(n: number): void {
    this.pageSize = n;
  }

  /** The next `count` syncs for the account return an empty page with `has_more = 1`. */
  emptyPagesNext(openKfId: string, count = 1): void {
    this.emptyPages.set(openKfId, (this.emptyPages.get(openKfId) ?? 0) + count);
  }

  /** The next `times` calls of `api` (e.g. `kf/send_msg`, `gettoken`) answer this errcode. */
  fail(api: string, errcode: number, times = 1, errmsg = `fake error ${errcode}`): void {
    this.failures.push({ api, errcode, errmsg, times });
  }

  /** Drops the scripted failures of `api` not used yet (the API works again). */
  clearFailures(api: string): void {
    for (const f of this.failures) if (f.api === api) f.times = 0;
  }

  /** The next `times` calls of `api` answer this HTTP status. */
  failHttp(api: string, httpStatus: number, times = 1): void {
    this.failures.push({ api, httpStatus, times });
  }

  /** Delays every answer of `api` by `ms` (0 removes the delay), e.g. to hold a sync open. */
  setLatency(api: string, ms: number): void {
    if (ms > 0) this.latency.set(api, ms);
    else this.latency.delete(api);
  }

  /** Every access token issued so far now answers 42001 (as when WeCom expires them early). */
  expireTokens(): void {
    for (const t of this.accessTokens.values()) t.expired = true;
  }

  setServiceState(openKfId: string, userId: string, state: number, servicer?: string): void {
    this.states.set(`${openKfId}|${userId}`, { state, ...(servicer ? { servicer } : {}) });
  }

  serviceState(openKfId: string, userId: string): number {
    return this.states.get(`${openKfId}|${userId}`)?.state ?? 0;
  }

  /** Makes a file downloadable with `media/get`. */
  addMedia(mediaId: string, bytes: Buffer, contentType: string, filename = 'file.bin'): void {
    this.media.set(mediaId, { bytes, contentType, filename });
  }

  /** Accepted messages to one customer, in order. */
  sentTo(userId: string): FakeSentMessage[] {
    return this.sent.filter((m) => m.touser === userId);
  }

  /** Calls of one API. */
  callsTo(api: string): FakeWecomCall[] {
    return this.calls.filter((c) => c.api === api);
  }

  // ---- server ------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    const api = u.pathname.replace(/^\/cgi-bin\//, '');
    const query = Object.fromEntries(u.searchParams.entries());
    const raw = await readBody(req);
    const type = String(req.headers['content-type'] ?? '');
    return this.corpFor(api, query).serve(req.method ?? 'GET', api, query, raw, type, res);
  }

  /** The corp a request is for: `gettoken` by its `corpid`, other APIs by the corp that issued the access token (else the first corp). */
  private corpFor(api: string, query: Record<string, string>): FakeWecom {
    const all = [this, ...this.corps];
    if (api === 'gettoken') return all.find((c) => c.corpId === query['corpid']) ?? this;
    return all.find((c) => c.accessTokens.has(query['access_token'] ?? '')) ?? this;
  }

  private async serve(method: string, api: string, query: Record<string, string>, raw: Buffer, type: string, res: ServerResponse): Promise<void> {
    let body: unknown = raw.length ? raw : undefined;
    if (type.includes('json') && raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        return this.reply(res, api, method, query, raw, 200, { errcode: 47001, errmsg: 'data format error' });
      }
    }
    const delay = this.latency.get(api);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const scripted = this.takeFailure(api);
    if (scripted && 'httpStatus' in scripted) return this.reply(res, api, method, query, body, scripted.httpStatus, { message: 'scripted http failure' });
    if (scripted) return this.reply(res, api, method, query, body, 200, { errcode: scripted.errcode, errmsg: scripted.errmsg, ...(api === 'kf/sync_msg' ? { msg_list: [] } : {}) });

    if (api === 'gettoken') return this.reply(res, api, method, query, body, 200, this.gettoken(query));
    const tok = this.accessTokens.get(query['access_token'] ?? '');
    if (!query['access_token']) return this.reply(res, api, method, query, body, 200, { errcode: 41001, errmsg: 'access_token missing' });
    if (!tok) return this.reply(res, api, method, query, body, 200, { errcode: 40014, errmsg: 'invalid access_token' });
    if (tok.expired || tok.expiresAt < Date.now()) return this.reply(res, api, method, query, body, 200, { errcode: 42001, errmsg: 'access_token expired' });

    const b = (body && typeof body === 'object' && !Buffer.isBuffer(body) ? body : {}) as Record<string, unknown>;
    switch (api) {
      case 'kf/sync_msg':
        return this.reply(res, api, method, query, body, 200, this.syncMsg(b));
      case 'kf/send_msg':
        return this.reply(res, api, method, query, body, 200, this.sendMsg(b));
      case 'kf/send_msg_on_event':
        return this.reply(res, api, method, query, body, 200, this.sendOnEvent(b));
      case 'kf/service_state/get': {
        const st = this.states.get(`${String(b['open_kfid'])}|${String(b['external_userid'])}`) ?? { state: 0 };
        return this.reply(res, api, method, query, body, 200, { errcode: 0, errmsg: 'ok', service_state: st.state, ...(st.state === 3 && st.servicer ? { servicer_userid: st.servicer } : {}) });
      }
      case 'kf/customer/batchget':
        return this.reply(res, api, method, query, body, 200, this.batchget(b));
      case 'kf/service_state/trans':
        return this.reply(res, api, method, query, body, 200, this.trans(b));
      case 'media/upload':
        return this.reply(res, api, method, query, '[multipart]', 200, this.upload(query, type, raw));
      case 'media/get': {
        const m = this.media.get(query['media_id'] ?? '');
        if (!m) return this.reply(res, api, method, query, body, 200, { errcode: 40007, errmsg: 'invalid media_id' });
        this.record(api, method, query, body, 0, 200);
        res.writeHead(200, { 'content-type': m.contentType, 'content-disposition': `attachment; filename="${m.filename}"`, 'content-length': m.bytes.length });
        res.end(m.bytes);
        return;
      }
      default:
        return this.reply(res, api, method, query, body, 404, { errcode: 404, errmsg: 'no such api in the fake' });
    }
  }

  private takeFailure(api: string): Failure | undefined {
    const f = this.failures.find((x) => x.api === api && x.times > 0);
    if (!f) return undefined;
    f.times -= 1;
    return f;
  }

  private record(api: string, method: string, query: Record<string, string>, body: unknown, errcode: number, httpStatus: number): void {
    const { corpsecret: _secret, ...safeQuery } = query;
    this.calls.push({ api, method, query: safeQuery, body, errcode, httpStatus, at: Date.now() });
  }

  private reply(res: ServerResponse, api: string, method: string, query: Record<string, string>, body: unknown, status: number, json: Record<string, unknown>): void {
    this.record(api, method, query, body, typeof json['errcode'] === 'number' ? json['errcode'] : 0, status);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(json));
  }

  private gettoken(q: Record<string, string>): Record<string, unknown> {
    if (q['corpid'] !== this.corpId) return { errcode: 40013, errmsg: 'invalid corpid' };
    if (q['corpsecret'] !== this.secret) return { errcode: 40001, errmsg: 'invalid credential' };
    this.tokensIssued += 1;
    const token = `at_${this.tokensIssued}_${randomBytes(8).toString('hex')}`;
    this.accessTokens.set(token, { expiresAt: Date.now() + this.opts.tokenTtlSec * 1000, expired: false });
    return { errcode: 0, errmsg: 'ok', access_token: token, expires_in: this.opts.tokenTtlSec };
  }

  private syncMsg(b: Record<string, unknown>): Record<string, unknown> {
    const token = typeof b['token'] === 'string' ? b['token'] : undefined;
    if (token) {
      const exp = this.callbackTokens.get(token);
      if (!exp || exp < Date.now()) return { errcode: 95007, errmsg: 'invalid msg token', msg_list: [] };
    } else {
      const now = Date.now();
      while (this.untokened.length && now - this.untokened[0]! > 60_000) this.untokened.shift();
      if (this.untokened.length >= this.opts.untokenedSyncPerMinute) return { errcode: 45009, errmsg: 'api freq out of limit', msg_list: [] };
      this.untokened.push(now);
    }
    const cursor = typeof b['cursor'] === 'string' ? b['cursor'] : '';
    let start = 0;
    if (cursor) {
      const m = /^c(\d+)x\d+$/.exec(cursor);
      if (!m) return { errcode: 40058, errmsg: 'invalid cursor', msg_list: [] };
      start = Number(m[1]);
    }
    const kfid = typeof b['open_kfid'] === 'string' ? b['open_kfid'] : undefined;
    const limit = Math.min(1000, Math.max(1, Number(b['limit'] ?? 1000)), this.pageSize);
    const cursorFor = (i: number) => `c${i}x${++this.cursorSeq}`;
    const empties = kfid ? this.emptyPages.get(kfid) ?? 0 : 0;
    if (kfid && empties > 0) {
      this.emptyPages.set(kfid, empties - 1);
      return { errcode: 0, errmsg: 'ok', next_cursor: cursorFor(start), has_more: 1, msg_list: [] };
    }
    const items: FakeSyncItem[] = [];
    let i = start;
    for (; i < this.log.length && items.length < limit; i += 1) {
      const e = this.log[i]!;
      if (!kfid || e.kfid === kfid) items.push(e.item);
    }
    const hasMore = this.log.slice(i).some((e) => !kfid || e.kfid === kfid);
    return { errcode: 0, errmsg: 'ok', next_cursor: cursorFor(i), has_more: hasMore ? 1 : 0, msg_list: items };
  }

  private sendMsg(b: Record<string, unknown>): Record<string, unknown> {
    const touser = String(b['touser'] ?? '');
    const kfid = String(b['open_kfid'] ?? '');
    const msgtype = String(b['msgtype'] ?? '');
    const msgid = typeof b['msgid'] === 'string' ? b['msgid'] : undefined;
    if (!touser || !kfid || !msgtype) return { errcode: 40058, errmsg: 'missing touser, open_kfid or msgtype' };
    if (msgid !== undefined && !MSGID_RE.test(msgid)) return { errcode: 40058, errmsg: 'invalid msgid' };
    if (msgid && this.seenMsgids.has(`${kfid}|${msgid}`)) return { errcode: 0, errmsg: 'ok', msgid };
    const content = msgtype === 'text' ? (b['text'] as { content?: unknown } | undefined)?.content : undefined;
    if (msgtype === 'text' && (typeof content !== 'string' || content.length === 0)) return { errcode: 44004, errmsg: 'empty content' };
    if (typeof content === 'string' && Buffer.byteLength(content, 'utf8') > 2048) return { errcode: 45002, errmsg: 'content size out of limit' };
    const key = `${kfid}|${touser}`;
    const state = this.states.get(key)?.state ?? 0;
    if (state !== 0 && state !== 1) return { errcode: 95018, errmsg: 'send msg session status invalid' };
    const allow = this.allowance.get(key);
    if (!allow) return { errcode: 95031, errmsg: 'customer has not sent a message within 48h' };
    if (Date.now() - allow.lastCustomerAt > 48 * 3600_000) return { errcode: 95002, errmsg: 'over 48h' };
    if (allow.sent >= 5) return { errcode: 95001, errmsg: 'send msg count limit' };
    allow.sent += 1;
    const id = msgid ?? `auto${randomBytes(12).toString('hex')}`;
    this.seenMsgids.add(`${kfid}|${id}`);
    const { touser: _t, open_kfid: _k, msgid: _m, msgtype: _y, ...rest } = b;
    this.sent.push({ touser, open_kfid: kfid, msgid: id, msgtype, body: rest, at: Date.now() });
    return { errcode: 0, errmsg: 'ok', msgid: id };
  }

  private sendOnEvent(b: Record<string, unknown>): Record<string, unknown> {
    const code = String(b['code'] ?? '');
    const wc = this.welcomeCodes.get(code);
    if (!wc || wc.used || Date.now() - wc.at > 20_000) return { errcode: 95020, errmsg: 'invalid or expired code' };
    wc.used = true;
    const msgtype = String(b['msgtype'] ?? '');
    const { code: _c, msgid, msgtype: _y, ...rest } = b;
    this.sentOnEvent.push({ code, ...(typeof msgid === 'string' ? { msgid } : {}), msgtype, body: rest, at: Date.now() });
    return { errcode: 0, errmsg: 'ok', ...(typeof msgid === 'string' ? { msgid } : {}) };
  }

  private batchget(b: Record<string, unknown>): Record<string, unknown> {
    const ids = b['external_userid_list'];
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100 || !ids.every((x) => typeof x === 'string')) {
      return { errcode: 40058, errmsg: 'external_userid_list must hold 1-100 ids' };
    }
    const customer_list: Array<Record<string, unknown>> = [];
    const invalid_external_userid: string[] = [];
    for (const id of ids) {
      const c = this.customers.get(id);
      // WeCom answers only for customers active within the last 48 hours
      if (!c || Date.now() - c.activeAt > 48 * 3600_000) {
        invalid_external_userid.push(id);
        continue;
      }
      customer_list.push({ external_userid: id, nickname: c.nickname, avatar: c.avatar ?? '', gender: c.gender ?? 0, unionid: c.unionid ?? '' });
    }
    return { errcode: 0, errmsg: 'ok', customer_list, invalid_external_userid };
  }

  private trans(b: Record<string, unknown>): Record<string, unknown> {
    const kfid = String(b['open_kfid'] ?? '');
    const user = String(b['external_userid'] ?? '');
    const to = Number(b['service_state']);
    const servicer = typeof b['servicer_userid'] === 'string' ? b['servicer_userid'] : undefined;
    const from = this.states.get(`${kfid}|${user}`)?.state ?? 0;
    if (!(TRANSITIONS[from] ?? []).includes(to)) return { errcode: 95016, errmsg: 'state transition not allowed' };
    if (to === 3 && !servicer) return { errcode: 40058, errmsg: 'servicer_userid required' };
    this.states.set(`${kfid}|${user}`, { state: to, ...(servicer ? { servicer } : {}) });
    this.transitions.push({ openKfId: kfid, userId: user, from, to, ...(servicer ? { servicer } : {}) });
    return { errcode: 0, errmsg: 'ok', ...(to >= 2 ? { msg_code: `MC${randomBytes(8).toString('hex')}` } : {}) };
  }

  private upload(q: Record<string, string>, contentType: string, raw: Buffer): Record<string, unknown> {
    const type = q['type'] ?? '';
    if (!['image', 'voice', 'video', 'file'].includes(type)) return { errcode: 40004, errmsg: 'invalid media type' };
    const file = mediaPart(parseMultipart(contentType, raw).get('media'));
    if (!file) return { errcode: 41005, errmsg: 'media data missing' };
    if (file.bytes.length <= 5) return { errcode: 40006, errmsg: 'invalid file size' };
    const mediaId = `mid_${randomBytes(10).toString('hex')}`;
    this.media.set(mediaId, file);
    this.uploads.push({ mediaId, type, filename: file.filename, contentType: file.contentType, size: file.bytes.length });
    return { errcode: 0, errmsg: 'ok', type, media_id: mediaId, created_at: String(Math.floor(Date.now() / 1000)) };
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}


// ---- callback builders --------------------------------------------------------------------

/** `msg_signature` = sha1(sort([token, timestamp, nonce, encrypt]).join('')). */
export function signWechatCallback(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return getSignature(token, timestamp, nonce, encrypted);
}

/** The plaintext of a `kf_msg_or_event` notice. */
export function kfCallbackXml(opts: { corpId: string; token?: string; openKfId?: string; createTime?: number }): string {
  return (
    `<xml><ToUserName><![CDATA[${opts.corpId}]]></ToUserName><CreateTime>${opts.createTime ?? Math.floor(Date.now() / 1000)}</CreateTime>` +
    `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>` +
    (opts.token ? `<Token><![CDATA[${opts.token}]]></Token>` : '') +
    (opts.openKfId ? `<OpenKfId><![CDATA[${opts.openKfId}]]></OpenKfId>` : '') +
    `</xml>`
  );
}

/** Keys of a callback configuration. */
export interface WechatCallbackKeys {
  token: string;
  encodingAESKey: string;
  corpId: string;
}

/** An encrypted POST callback exactly as WeCom sends it. */
export interface EncryptedCallback {
  query: { msg_signature: string; timestamp: string; nonce: string };
  /** `?msg_signature=…&timestamp=…&nonce=…` */
  search: string;
  body: string;
  encrypt: string;
}

const nonce = () => String(1e9 + (randomBytes(4).readUInt32BE(0) % 9e9));

/**
 * Encrypts `xml` (receive id = `receiveId ?? corpId`) and signs it: the POST a WeCom callback makes.
 * `random` must be 16 bytes (@wecom/crypto does not check it).
 */
export function encryptWechatCallback(
  keys: WechatCallbackKeys,
  xml: string,
  opts: { timestamp?: string | number; nonce?: string; random?: Buffer; receiveId?: string; signWith?: string } = {},
): EncryptedCallback {
  if (opts.random && opts.random.length !== 16) throw new Error('random must be 16 bytes');
  const enc = wecomEncrypt(keys.encodingAESKey, xml, opts.receiveId ?? keys.corpId, opts.random);
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nc = opts.nonce ?? nonce();
  const query = { msg_signature: signWechatCallback(opts.signWith ?? keys.token, ts, nc, enc), timestamp: ts, nonce: nc };
  const body = `<xml><ToUserName><![CDATA[${keys.corpId}]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`;
  return { query, search: `?${new URLSearchParams(query).toString()}`, body, encrypt: enc };
}

/**
 * A GET URL-verification request. `search` percent-encodes `echostr` like WeCom; `rawPlusSearch`
 * leaves `+` literal (what a careless proxy produces) to test the `+`/space repair.
 */
export function buildWechatVerifyRequest(
  keys: WechatCallbackKeys,
  opts: { echo?: string; timestamp?: string | number; nonce?: string; random?: Buffer } = {},
): { query: { msg_signature: string; timestamp: string; nonce: string; echostr: string }; search: string; rawPlusSearch: string; expectedResponse: string } {
  const echo = opts.echo ?? String(1e17 + (randomBytes(6).readUIntBE(0, 6) % 8e17));
  const echostr = wecomEncrypt(keys.encodingAESKey, echo, keys.corpId, opts.random);
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nc = opts.nonce ?? nonce();
  const query = { msg_signature: signWechatCallback(keys.token, ts, nc, echostr), timestamp: ts, nonce: nc, echostr };
  const search = '?' + Object.entries(query).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  const rawPlusSearch = '?' + Object.entries(query).map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2B/g, '+')}`).join('&');
  return { query, search, rawPlusSearch, expectedResponse: echo };
}

/** The uploaded `media` part with the defaults WeCom applies (octet-stream, "file"). */
function mediaPart(part: FormPart | undefined): { bytes: Buffer; contentType: string; filename: string } | undefined {
  return part && { bytes: part.bytes, contentType: part.contentType ?? 'application/octet-stream', filename: part.filename ?? 'file' };
}
