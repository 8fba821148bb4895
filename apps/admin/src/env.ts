import { baseEnv, ConfigError, flag, optional, port, url, withDefault } from '@switchboard/core';

/**
 * The admin app's environment. Credentials of the channels are read only for the sandbox, which
 * signs/encrypts webhooks with the secrets the ingress apps were started with and serves the fake
 * provider APIs the workers were pointed at.
 */
export const adminEnv = {
  ...baseEnv,
  ADMIN_PORT: port(3000),
  ADMIN_USER: optional(),
  ADMIN_PASSWORD: optional(),
  /** `off` disables basic auth (local sandbox only; warned on every start). */
  ADMIN_AUTH: flag(true),
  /** Serves `/sandbox` and the fake provider APIs; `pnpm start` turns it on when no provider credentials are set. */
  SANDBOX: flag(false),
  /** Where the sandbox posts WhatsApp webhooks (the real whatsapp-ingress). */
  SANDBOX_WHATSAPP_INGRESS_URL: url('http://127.0.0.1:3001'),
  /** Where the sandbox posts WeChat callbacks (the real wechat-ingress). */
  SANDBOX_WECHAT_INGRESS_URL: url('http://127.0.0.1:3002'),
  /** The fake WhatsApp business number's phone_number_id. */
  SANDBOX_WHATSAPP_PHONE_NUMBER_ID: withDefault('100000000000001'),
  /** The fake 微信客服 account's open_kfid. */
  SANDBOX_WECHAT_OPEN_KFID: withDefault('wkSandboxKf0000000000000000001'),
  WHATSAPP_APP_SECRET: optional(),
  WHATSAPP_ACCESS_TOKEN: optional(),
  WECHAT_TOKEN: optional(),
  WECHAT_AESKEY: optional(),
  WECHAT_CORP_ID: optional(),
  WECHAT_SECRET: optional(),
  /** Only its presence is read: without it the agent answers offline (FAQ), which the sandbox says. */
  OPENAI_API_KEY: optional(),
};

/** The warning logged on every start while authentication is off. */
export const AUTH_OFF_WARNING =
  '!!! ADMIN AUTH IS OFF (ADMIN_AUTH=off): Bull Board, the overview and the sandbox are open to anyone who can reach this port; never run this way outside a local machine !!!';

/**
 * Basic-auth credentials from the environment. Both ADMIN_USER and ADMIN_PASSWORD, or ADMIN_AUTH=off
 * (→ undefined, the caller warns); anything else stops the process with a message naming what is missing.
 */
export function resolveAdminAuth(cfg: { ADMIN_USER?: string | undefined; ADMIN_PASSWORD?: string | undefined; ADMIN_AUTH: boolean }): { user: string; password: string } | undefined {
  if (cfg.ADMIN_USER && cfg.ADMIN_PASSWORD) return { user: cfg.ADMIN_USER, password: cfg.ADMIN_PASSWORD };
  if (!cfg.ADMIN_AUTH) return undefined;
  const missing = [cfg.ADMIN_USER ? undefined : 'ADMIN_USER', cfg.ADMIN_PASSWORD ? undefined : 'ADMIN_PASSWORD'].filter(Boolean);
  throw new ConfigError([`${missing.join(' and ')}: required for the admin app (or set ADMIN_AUTH=off on a machine nobody else can reach)`]);
}
