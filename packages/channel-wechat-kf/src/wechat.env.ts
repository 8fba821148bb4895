import { z } from 'zod';
import { flag, int, optional, port, url } from '@switchboard/core';

/** Production API host. */
export const DEFAULT_WECHAT_API_URL = 'https://qyapi.weixin.qq.com';

const blank = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** EncodingAESKey: exactly 43 characters of `[a-zA-Z0-9]` (decodes to a 32-byte AES key). @see https://developer.work.weixin.qq.com/document/path/91144 */
const aesKey = () =>
  z.preprocess(blank, z.string().regex(/^[A-Za-z0-9]{43}$/, 'must be exactly 43 characters of [A-Za-z0-9] (the EncodingAESKey)').optional());

/** Callback Token: up to 32 letters and digits. @see https://developer.work.weixin.qq.com/document/path/96238 */
const callbackToken = () => z.preprocess(blank, z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'must be 1-32 letters or digits (the callback Token)').optional());

/**
 * Environment fragment of the 微信客服 channel; apps compose it with `baseEnv` into one `loadConfig`.
 * Every credential is optional: a channel without them is disabled with a warning, not a crash.
 */
export const wechatEnv = {
  /** Callback Token set in the WeCom admin (signature key). */
  WECHAT_TOKEN: callbackToken(),
  /** Callback EncodingAESKey (43 characters). */
  WECHAT_AESKEY: aesKey(),
  /** Corp id (`ww…`); must equal the decrypted receive id of every callback. */
  WECHAT_CORP_ID: optional(),
  /** Secret of the app allowed to call the 微信客服 API (workers only). */
  WECHAT_SECRET: optional(),
  /** WeCom API base; tests point it at the fake server. */
  WECHAT_API_URL: url(DEFAULT_WECHAT_API_URL),
  /** Ingress port. */
  WECHAT_PORT: port(3002),
  /** Callbacks whose timestamp differs from now by more than this are refused (0 = no check). */
  WECHAT_TIMESTAMP_WINDOW_SEC: int(300),
  /** Largest accepted callback body; WeCom callbacks are well under 2 KB. */
  WECHAT_MAX_BODY_BYTES: int(64 * 1024, 1024),
  /** First sync of an account without a stored cursor: answer the 3-day history (true) or drain it silently (false). */
  WECHAT_REPLY_HISTORY_ON_FIRST_SYNC: flag(false),
  /** During a silent first sync, messages younger than this are still answered (the one that triggered the callback). */
  WECHAT_FIRST_SYNC_GRACE_SEC: int(300),
  /** Welcome text sent with `send_msg_on_event` on `enter_session` (unset = no welcome message). */
  WECHAT_WELCOME_TEXT: optional(),
  /** At most this many messages per reply (WeCom allows 5 per customer message). */
  WECHAT_MAX_PARTS_PER_REPLY: z.preprocess(blank, z.coerce.number().int().min(1).max(5).default(4)),
  /** Servicer (userid) to hand conversations to; unset = the WeCom queue (service_state 2). */
  WECHAT_HANDOFF_SERVICER: optional(),
  /** HTTP timeout of WeCom API calls. */
  WECHAT_HTTP_TIMEOUT_MS: int(10_000, 100),
  /**
   * Lease of the per-account sync lock, renewed while its worker lives: if that worker dies, the
   * account's waiting sync job takes over after at most this long (ms).
   */
  WECHAT_SYNC_LOCK_MS: int(15_000, 200),
  /** How long a customer's nickname and avatar (`kf/customer/batchget`) are cached before they are asked again, seconds (0 = never cached). */
  WECHAT_PROFILE_TTL_SEC: int(86_400, 0),
  /** After a failed `kf/customer/batchget`, how long before it is tried again, seconds (0 = at the next message). */
  WECHAT_PROFILE_RETRY_SEC: int(300, 0),
};

/** Parsed values of {@link wechatEnv}. */
export type WechatEnv = z.infer<z.ZodObject<typeof wechatEnv>>;

/** What the ingress needs to verify and decrypt callbacks. */
export interface WechatCallbackSettings {
  readonly token: string;
  readonly aesKey: string;
  readonly corpId: string;
  /** 0 disables the timestamp check. */
  readonly timestampWindowSec: number;
  readonly maxBodyBytes: number;
}

/** What workers need to call the API. */
export interface WechatApiSettings {
  readonly corpId: string;
  readonly secret: string;
  readonly apiUrl: string;
  readonly timeoutMs: number;
}

/** Either the settings, or the names of the missing variables (the channel is then disabled). */
export type Resolved<T> = { readonly enabled: true; readonly settings: T } | { readonly enabled: false; readonly missing: string[] };

/** Callback settings, or which of WECHAT_TOKEN / WECHAT_AESKEY / WECHAT_CORP_ID are absent. */
export function resolveCallbackSettings(env: WechatEnv): Resolved<WechatCallbackSettings> {
  const missing = (['WECHAT_TOKEN', 'WECHAT_AESKEY', 'WECHAT_CORP_ID'] as const).filter((k) => !env[k]);
  if (missing.length || !env.WECHAT_TOKEN || !env.WECHAT_AESKEY || !env.WECHAT_CORP_ID) return { enabled: false, missing };
  return {
    enabled: true,
    settings: {
      token: env.WECHAT_TOKEN,
      aesKey: env.WECHAT_AESKEY,
      corpId: env.WECHAT_CORP_ID,
      timestampWindowSec: env.WECHAT_TIMESTAMP_WINDOW_SEC,
      maxBodyBytes: env.WECHAT_MAX_BODY_BYTES,
    },
  };
}

/** API settings, or which of WECHAT_CORP_ID / WECHAT_SECRET are absent. */
export function resolveApiSettings(env: WechatEnv): Resolved<WechatApiSettings> {
  const missing = (['WECHAT_CORP_ID', 'WECHAT_SECRET'] as const).filter((k) => !env[k]);
  if (missing.length || !env.WECHAT_CORP_ID || !env.WECHAT_SECRET) return { enabled: false, missing };
  return {
    enabled: true,
    settings: { corpId: env.WECHAT_CORP_ID, secret: env.WECHAT_SECRET, apiUrl: env.WECHAT_API_URL ?? DEFAULT_WECHAT_API_URL, timeoutMs: env.WECHAT_HTTP_TIMEOUT_MS },
  };
}

/** The keys of a WeCom corp (one 微信客服 account) in `ACCOUNTS_FILE`; both halves read them. */
export const wechatAccountFields = z.strictObject({
  corpId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be the corp id (ww…)'),
  /** Secret of the app allowed to call the 微信客服 API. */
  secret: z.string().min(1),
  /** Callback Token (signature key). */
  token: z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'must be 1-32 letters or digits (the callback Token)'),
  /** Callback EncodingAESKey. */
  aesKey: z.string().regex(/^[A-Za-z0-9]{43}$/, 'must be exactly 43 characters of [A-Za-z0-9] (the EncodingAESKey)'),
  welcomeText: z.string().min(1).optional(),
  handoffServicer: z.string().min(1).optional(),
});
export type WechatAccountFields = z.output<typeof wechatAccountFields>;
