import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { z } from 'zod';
import { ConfigurationError, PayloadInvalidError, ProviderRateLimitedError, ProviderUnavailableError, type Logger, keepAliveAgents } from '@switchboard/core';
import type { GatewayKeys, RedisClient } from '@switchboard/queue';
import type { WechatApiSettings } from './wechat.env.js';
import { TOKEN_ERRORS, wechatApiError } from './wechat.errors.js';
import { WechatTokenCache, type TokenCacheOptions } from './wechat.token.js';
import {
  ApiStatus,
  CustomerBatchGetResponse,
  MediaUploadResponse,
  SendMsgResponse,
  ServiceStateResponse,
  SyncMsgResponse,
  TokenResponse,
  TransResponse,
  type MessageBody,
  type SyncMsgRequest,
  type WechatCustomer,
} from './wechat.wire.js';

/**
 * The 微信客服 HTTP API: token handling, errcode checks and typed errors in one place.
 * 40014/42001 → the token is refreshed once and the call retried once; 40001 is a configuration
 * error and never retried (see {@link WechatTokenCache}).
 * @see https://developer.work.weixin.qq.com/document/path/94670
 */

export interface WechatClientOptions {
  readonly settings: WechatApiSettings;
  readonly redis: RedisClient;
  readonly keys: GatewayKeys;
  readonly log: Logger;
  readonly tokenOptions?: Partial<TokenCacheOptions>;
}

/** A media download. */
export interface MediaFile {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly filename?: string;
}

/** Media kinds `media/upload` and `send_msg` know. */
export type WechatMediaType = 'image' | 'voice' | 'video' | 'file';

function transportError(api: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return new ProviderUnavailableError(`wechat ${api}: network error: ${msg}`, { providerCode: 'network', cause: err });
}

function httpError(api: string, res: AxiosResponse): Error {
  if (res.status === 429) return new ProviderRateLimitedError(`wechat ${api}: HTTP 429`, { providerCode: 429, retryAfterMs: 60_000 });
  return new ProviderUnavailableError(`wechat ${api}: HTTP ${res.status}`, { providerCode: res.status });
}

/** Typed client of the kf API for one corp. */
export class WechatApiClient {
  readonly tokens: WechatTokenCache;
  private readonly http: AxiosInstance;

  constructor(private readonly opts: WechatClientOptions) {
    this.http = axios.create({
      baseURL: `${opts.settings.apiUrl}/cgi-bin`,
      timeout: opts.settings.timeoutMs,
      validateStatus: () => true,
      // the access token travels in the query string: never follow a redirect elsewhere with it
      maxRedirects: 0,
      ...keepAliveAgents(),
    });
    this.tokens = new WechatTokenCache(opts.redis, opts.keys, opts.settings.corpId, opts.settings.secret, () => this.fetchToken(), opts.log, opts.tokenOptions);
  }

  /** The corp this client calls the API for. */
  get corpId(): string {
    return this.opts.settings.corpId;
  }

  private async fetchToken(): Promise<{ token: string; expiresInSec: number }> {
    let res: AxiosResponse;
    try {
      res = await this.http.get('/gettoken', { params: { corpid: this.opts.settings.corpId, corpsecret: this.opts.settings.secret } });
    } catch (err) {
      throw transportError('gettoken', err);
    }
    if (res.status >= 300) throw httpError('gettoken', res);
    const status = ApiStatus.safeParse(res.data);
    if (!status.success) throw new ProviderUnavailableError('wechat gettoken: unreadable answer', { providerCode: res.status });
    if (status.data.errcode !== 0) {
      const err = wechatApiError('gettoken', status.data.errcode, status.data.errmsg);
      // 40014/42001 cannot come from gettoken; anything token-shaped here means bad credentials
      throw TOKEN_ERRORS.has(status.data.errcode) ? new ConfigurationError(err.message, err) : err;
    }
    const body = TokenResponse.safeParse(res.data);
    if (!body.success) throw new ProviderUnavailableError('wechat gettoken: answer without access_token', { providerCode: 'bad_body' });
    return { token: body.data.access_token, expiresInSec: body.data.expires_in };
  }

  /** Runs `send(token)`; on 40014/42001 refreshes the token once and runs it once more. */
  private async withToken(api: string, send: (token: string) => Promise<AxiosResponse>): Promise<AxiosResponse> {
    for (let attempt = 0; ; attempt += 1) {
      const token = await this.tokens.get();
      let res: AxiosResponse;
      try {
        res = await send(token);
      } catch (err) {
        throw transportError(api, err);
      }
      if (res.status >= 300) throw httpError(api, res);
      const code = errcodeOf(res);
      if (code !== undefined && TOKEN_ERRORS.has(code) && attempt === 0) {
        this.opts.log.warn('wechat access token rejected, refreshing once', { api, errcode: code });
        await this.tokens.invalidate(token);
        continue;
      }
      return res;
    }
  }

  private async post<S extends z.ZodType>(api: string, body: unknown, schema: S): Promise<z.infer<S>> {
    const res = await this.withToken(api, (token) => this.http.post(`/${api}`, body, { params: { access_token: token } }));
    return this.check(api, res, schema);
  }

  private check<S extends z.ZodType>(api: string, res: AxiosResponse, schema: S): z.infer<S> {
    const status = ApiStatus.safeParse(res.data);
    if (!status.success) throw new ProviderUnavailableError(`wechat ${api}: unreadable answer`, { providerCode: 'bad_body' });
    // error bodies may still carry e.g. `msg_list: []`: errcode decides
    if (status.data.errcode !== 0) throw wechatApiError(api, status.data.errcode, status.data.errmsg);
    const body = schema.safeParse(res.data);
    if (!body.success) throw new PayloadInvalidError(`wechat ${api}: unexpected answer: ${body.error.message}`);
    return body.data;
  }

  /** `kf/sync_msg`: one page of messages after `cursor`. */
  syncMsg(req: SyncMsgRequest): Promise<SyncMsgResponse> {
    return this.post('kf/sync_msg', req, SyncMsgResponse);
  }

  /** `kf/send_msg`: one message; `msgid` (≤ 32 of `[0-9a-zA-Z_-]`) makes a retry idempotent. */
  async sendMsg(to: { openKfId: string; userId: string }, msgid: string, body: MessageBody): Promise<{ msgid?: string }> {
    const res = await this.post('kf/send_msg', { touser: to.userId, open_kfid: to.openKfId, msgid, ...body }, SendMsgResponse);
    return res.msgid ? { msgid: res.msgid } : {};
  }

  /** `kf/send_msg_on_event`: welcome / queue / end-of-session message with a one-time event code. */
  async sendMsgOnEvent(code: string, msgid: string, body: MessageBody): Promise<{ msgid?: string }> {
    const res = await this.post('kf/send_msg_on_event', { code, msgid, ...body }, SendMsgResponse);
    return res.msgid ? { msgid: res.msgid } : {};
  }

  /** `kf/service_state/get`: 0 new, 1 bot, 2 queue, 3 human, 4 ended. */
  async getServiceState(openKfId: string, userId: string): Promise<{ state: number; servicerUserId?: string }> {
    const res = await this.post('kf/service_state/get', { open_kfid: openKfId, external_userid: userId }, ServiceStateResponse);
    return { state: res.service_state, ...(res.servicer_userid ? { servicerUserId: res.servicer_userid } : {}) };
  }

  /** `kf/service_state/trans`: move the session (2 queue, 3 servicer, 4 end). Returns the `msg_code` when WeCom gives one. */
  async transServiceState(openKfId: string, userId: string, state: 2 | 3 | 4, servicerUserId?: string): Promise<{ msgCode?: string }> {
    const body = { open_kfid: openKfId, external_userid: userId, service_state: state, ...(servicerUserId ? { servicer_userid: servicerUserId } : {}) };
    const res = await this.post('kf/service_state/trans', body, TransResponse);
    return res.msg_code ? { msgCode: res.msg_code } : {};
  }

  /**
   * `kf/customer/batchget`: nickname, avatar and unionid of up to 100 customers. WeCom answers only
   * for customers active in the last 48 hours; the others come back in `invalidIds`.
   */
  async batchGetCustomers(userIds: readonly string[]): Promise<{ customers: WechatCustomer[]; invalidIds: string[] }> {
    const res = await this.post('kf/customer/batchget', { external_userid_list: userIds, need_enter_session_context: 0 }, CustomerBatchGetResponse);
    return { customers: res.customer_list, invalidIds: res.invalid_external_userid };
  }

  /** `media/upload` (multipart field `media`): media_id valid 3 days. */
  async uploadMedia(type: WechatMediaType, file: MediaFile): Promise<string> {
    const api = 'media/upload';
    const res = await this.withToken(api, (token) => {
      const form = new FormData();
      form.append('media', new Blob([new Uint8Array(file.bytes)], { type: file.contentType }), file.filename ?? `${type}.bin`);
      return this.http.post(`/${api}`, form, { params: { access_token: token, type } });
    });
    return this.check(api, res, MediaUploadResponse).media_id;
  }

  /** `media/get`: the file, or a typed error (failures come back as JSON, so check the content type). */
  async getMedia(mediaId: string): Promise<MediaFile> {
    const api = 'media/get';
    const res = await this.withToken(api, (token) =>
      this.http.get(`/${api}`, { params: { access_token: token, media_id: mediaId }, responseType: 'arraybuffer' }).then((r) => {
        const type = String(r.headers['content-type'] ?? '');
        if (type.includes('json') || type.startsWith('text/plain')) {
          try {
            return { ...r, data: JSON.parse(Buffer.from(r.data as ArrayBuffer).toString('utf8')) as unknown };
          } catch {
            return r;
          }
        }
        return r;
      }),
    );
    if (!Buffer.isBuffer(res.data) && !(res.data instanceof ArrayBuffer)) {
      this.check(api, res, ApiStatus);
      throw new PayloadInvalidError('wechat media/get: JSON answer without error code');
    }
    const disposition = String(res.headers['content-disposition'] ?? '');
    const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1];
    return {
      bytes: Buffer.from(res.data as ArrayBuffer),
      contentType: String(res.headers['content-type'] ?? 'application/octet-stream'),
      ...(filename ? { filename } : {}),
    };
  }
}

function errcodeOf(res: AxiosResponse): number | undefined {
  const data = res.data as { errcode?: unknown } | undefined;
  return data && typeof data === 'object' && typeof data.errcode === 'number' ? data.errcode : undefined;
}
