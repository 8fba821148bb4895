import {
  DEFAULT_ACCOUNT_ID,
  defineAccountFile,
  jobId,
  shortHash,
  webhookPayloadBytes,
  type AccountInbound,
  type ChannelAccount,
  type ChannelInbound,
  type InboundAdapter,
  type Logger,
} from '@switchboard/core';
import { resolveCallbackSettings, wechatAccountFields, type Resolved, type WechatCallbackSettings, type WechatEnv } from './wechat.env.js';
import { WechatCallback } from './wechat.parse.js';
import { parseRawQuery, syncJobFor, verifyCallback, verifyEcho } from './wechat.verify.js';

/** A verified callback with the decoded body it came in (the sync job id falls back to it). */
export interface WechatDelivery {
  readonly callback: WechatCallback;
  readonly body: Buffer;
}

/**
 * The inbound adapter of 微信客服: decode, verify, decrypt and parse a callback. A callback carries no
 * messages: `kf_msg_or_event` yields no events (its `wechat-sync` job pulls them, see
 * {@link wechatAccountInbound}); any other callback becomes one `unsupported` event, acknowledged.
 */
export function createWechatInboundAdapter(settings: WechatCallbackSettings): InboundAdapter<WechatDelivery> {
  return {
    channel: 'wechat-kf',
    verify(req) {
      // WeCom's signature is not over the body: msg_signature (query) covers the <Encrypt> element
      // inside it, so the body is decoded first (same cap as a plain body) and verified after
      const decoded = webhookPayloadBytes(req);
      if (!decoded.ok) return decoded;
      // parse the raw query ourselves: qs would turn a literal '+' of the base64 into a space
      const query = req.rawQuery !== undefined ? parseRawQuery(req.rawQuery) : req.query;
      const verified = verifyCallback(settings, { ...req, rawBody: decoded.body, query });
      return verified.ok ? { ok: true, payload: { callback: verified.payload, body: decoded.body } } : verified;
    },
    parse(payload) {
      // total over any input (a verified payload always has this shape; the conformance suite mutates it)
      const callback = WechatCallback.safeParse((payload as Partial<WechatDelivery> | null)?.callback);
      if (callback.success && callback.data.kind === 'kf_msg_or_event') return [];
      const body = payload && Buffer.isBuffer(payload.body) ? payload.body.toString('utf8') : JSON.stringify(payload ?? null);
      const providerType = !callback.success ? 'invalid' : callback.data.kind === 'other' && callback.data.event ? `${callback.data.msgType}/${callback.data.event}` : callback.data.kind === 'other' ? callback.data.msgType : callback.data.kind;
      // other WeCom callbacks can share this URL: acknowledged so WeCom does not retry, and logged
      return [{ kind: 'unsupported', eventId: jobId('wxcb', shortHash(body, 24)), channel: 'wechat-kf', providerType: providerType || 'unknown', reason: 'callback other than kf_msg_or_event' }];
    },
  };
}

/**
 * One 微信客服 account's inbound half: GET echostr check, POST callbacks, one `wechat-sync` job per
 * notice, marked with the gateway account (`accountId`) so the worker pulls with that corp's client.
 */
export function wechatAccountInbound(settings: WechatCallbackSettings, accountId: string = DEFAULT_ACCOUNT_ID): AccountInbound<WechatDelivery> {
  return {
    adapter: createWechatInboundAdapter(settings),
    challenge: (req) => verifyEcho(settings, parseRawQuery(req.rawQuery), req.now),
    jobs: ({ callback, body }, ctx) => {
      if (callback.kind !== 'kf_msg_or_event') return [];
      const job = syncJobFor(callback, settings.corpId, ctx.receivedAt, body, accountId);
      return [{ queue: 'wechat-sync', data: job.data, jobId: job.jobId }];
    },
    bodyLimit: settings.maxBodyBytes,
  };
}

/** One account's callback settings, or the variables it misses. */
export type WechatInboundSettings = Resolved<WechatCallbackSettings>;

/** The inbound half of the 微信客服 channel (`/webhooks/wechat-kf[/<accountId>]`, port 3002). */
export const wechatInbound: ChannelInbound<WechatInboundSettings> = {
  channel: 'wechat-kf',
  route: 'wechat-kf',
  bodyLimit: 64 * 1024,
  errorFormat: 'text',
  unsupported: 'acknowledge',
  verifiesSubscription: true,
  // WeCom waits 5 s for an answer; give up on Redis well before and answer 503
  enqueueTimeoutMs: 3000,
  readinessCheck: 'wechat',
  accountFile: defineAccountFile(wechatAccountFields, (f, _entry, env) => {
    // the ingress environment includes the WeChat fragment: its window and body limit apply to every corp
    const e = env as Partial<WechatEnv>;
    return { enabled: true, settings: { token: f.token, aesKey: f.aesKey, corpId: f.corpId, timestampWindowSec: e.WECHAT_TIMESTAMP_WINDOW_SEC ?? 300, maxBodyBytes: e.WECHAT_MAX_BODY_BYTES ?? 64 * 1024 } };
  }),
  createInbound(account) {
    const s = account.settings;
    if (!s.enabled) return { enabled: false, reason: `${s.missing.length ? s.missing.join(', ') : 'WECHAT_TOKEN, WECHAT_AESKEY and WECHAT_CORP_ID'} required` };
    return { enabled: true, inbound: wechatAccountInbound(s.settings, account.id) };
  },
  answer: () => ({ type: 'text', body: 'success' }),
};

/** The `default` account from the WeChat variables; disabled (warned) while any callback credential is missing. */
export function wechatDefaultAccount(cfg: WechatEnv, log: Logger): ChannelAccount<WechatInboundSettings> {
  const resolved = resolveCallbackSettings(cfg);
  if (!resolved.enabled) log.warn('WeChat Kefu channel disabled: callbacks answer 503 until these are set', { missing: resolved.missing });
  return { id: DEFAULT_ACCOUNT_ID, settings: resolved };
}
