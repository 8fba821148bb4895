import type { z } from 'zod';
import { baseEnv, ConfigError, flag, int, optional, port, readAccountsFile, url, withDefault, type AccountsFile } from '@switchboard/core';
import { storeEnv } from '@switchboard/store';
import { agentEnv } from '@switchboard/agent';
import { channelMessagingEnv, templateCatalogueEnv } from '@switchboard/channels';

/**
 * The admin app's environment. The sandbox signs/encrypts webhooks with the generated secrets the
 * ingress apps were started with (`SANDBOX_*`, written by `pnpm start`) and serves the fake provider
 * APIs the workers were pointed at. The real channel credentials are read only to refuse them next to
 * `SANDBOX=on`: the sandbox never holds a real secret.
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
  /** Sandbox WhatsApp secrets (generated; the ingress and workers got them as WHATSAPP_*). */
  SANDBOX_WHATSAPP_APP_SECRET: optional(),
  SANDBOX_WHATSAPP_ACCESS_TOKEN: optional(),
  /** Sandbox WeChat secrets (generated; the ingress and workers got them as WECHAT_*). */
  SANDBOX_WECHAT_TOKEN: optional(),
  SANDBOX_WECHAT_AESKEY: optional(),
  SANDBOX_WECHAT_CORP_ID: optional(),
  SANDBOX_WECHAT_SECRET: optional(),
  /** Where the sandbox posts Telegram updates (the real telegram-ingress). */
  SANDBOX_TELEGRAM_INGRESS_URL: url('http://127.0.0.1:3004'),
  /** Sandbox Telegram secrets (generated; the ingress and workers got them as TELEGRAM_*). */
  SANDBOX_TELEGRAM_BOT_TOKEN: optional(),
  SANDBOX_TELEGRAM_WEBHOOK_SECRET: optional(),
  /** Whether the workers have an LLM key (set by `pnpm start`; else the presence of OPENAI_API_KEY). */
  SANDBOX_AGENT_ONLINE: optional(),
  NODE_ENV: optional(),
  /**
   * The agent configuration the workers use: the sandbox lists its FAQ topics in offline mode, the
   * console previews answers with it. Relative paths are resolved from the repository root, as the
   * workers resolve them (the admin app runs from apps/admin under `pnpm start`).
   */
  AGENT_CONFIG: agentEnv.AGENT_CONFIG,
  WHATSAPP_APP_SECRET: optional(),
  WHATSAPP_VERIFY_TOKEN: optional(),
  WECHAT_TOKEN: optional(),
  WECHAT_AESKEY: optional(),
  WECHAT_CORP_ID: optional(),
  WECHAT_SECRET: optional(),
  TELEGRAM_BOT_TOKEN: optional(),
  TELEGRAM_WEBHOOK_SECRET: optional(),
  /** Without it the agent answers offline (FAQ), which the sandbox says; with it knowledge search embeds the query (hybrid) and the console previews the model's answer. */
  OPENAI_API_KEY: optional(),
  /** The agent's model settings, as the workers have them: the console's answer preview runs the same agent. */
  LLM_MODEL: agentEnv.LLM_MODEL,
  LLM_TIMEOUT_MS: agentEnv.LLM_TIMEOUT_MS,
  VISION_MODEL: agentEnv.VISION_MODEL,
  /** OpenAI-compatible endpoint of the embeddings (knowledge search). */
  OPENAI_BASE_URL: url(),
  /** Keys of the HTTP API, `name:secret,name:secret` (the bearer is the secret; the name is logged). Unset = the API answers 401 to everything. */
  API_KEYS: optional(),
  /** Scopes of API keys, `name:scope+scope,…` (send, read, knowledge, people, admin); a key not listed has every scope. */
  API_KEY_SCOPES: optional(),
  /** Requests per minute per API key, across processes (Redis); 0 = no limit. */
  API_RATE_LIMIT: int(600, 0),
  /** The data store (knowledge); unset = the knowledge routes answer 503. */
  ...storeEnv,
  /** Embedding model of knowledge search (the workers must embed with the same model and size). */
  EMBEDDING_MODEL: withDefault('text-embedding-3-small'),
  EMBEDDING_DIMENSIONS: int(1536, 1),
  /** Largest knowledge upload accepted by the API and the console (bytes; default 20 MB). */
  KNOWLEDGE_MAX_UPLOAD_BYTES: int(20 * 1024 * 1024, 1024),
  /** The provider account and token of the template catalogues (`GET /api/v1/templates`). */
  ...templateCatalogueEnv,
  ...channelMessagingEnv,
};

/** Real credentials of the channels the sandbox can fake: never next to `SANDBOX=on`. */
export const REAL_CREDENTIALS = {
  WhatsApp: ['WHATSAPP_APP_SECRET', 'WHATSAPP_ACCESS_TOKEN', 'WHATSAPP_VERIFY_TOKEN'],
  WeChat: ['WECHAT_TOKEN', 'WECHAT_AESKEY', 'WECHAT_CORP_ID', 'WECHAT_SECRET'],
  Telegram: ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_WEBHOOK_SECRET'],
} as const;

/** The admin app's settings as `loadConfig` returns them. */
export type AdminConfig = z.infer<z.ZodObject<typeof adminEnv>>;

/** The sandbox's channels and secrets, as resolved from the environment. */
export interface SandboxSettings {
  whatsapp?: { appSecret: string; accessToken: string; ingressUrl: string; phoneNumberId: string };
  wechat?: { token: string; aesKey: string; corpId: string; secret: string; ingressUrl: string; openKfId: string };
  telegram?: { botToken: string; webhookSecret: string; ingressUrl: string };
  agentOnline: boolean;
}

/**
 * The sandbox settings, or undefined when `SANDBOX` is off. Refuses (one {@link ConfigError} naming
 * every problem) `SANDBOX=on` under `NODE_ENV=production` and next to real credentials of a channel the
 * sandbox fakes: the sandbox signs only with its own generated `SANDBOX_*` secrets.
 */
export function resolveSandboxSettings(cfg: AdminConfig): SandboxSettings | undefined {
  if (!cfg.SANDBOX) return undefined;
  const problems: string[] = [];
  if (cfg.NODE_ENV?.trim() === 'production') {
    problems.push('SANDBOX=on is refused under NODE_ENV=production: the sandbox fakes provider APIs and is for a local machine only');
  }
  for (const [label, names] of Object.entries(REAL_CREDENTIALS)) {
    const set = names.filter((n) => cfg[n] !== undefined);
    if (set.length > 0) {
      problems.push(
        `SANDBOX=on is refused next to real ${label} credentials (${set.join(', ')}): the sandbox never drives a real channel. ` +
          `Unset SANDBOX, or let \`pnpm start\` fake only the channels without credentials (it hands the admin app generated SANDBOX_* secrets)`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const settings: SandboxSettings = { agentOnline: cfg.SANDBOX_AGENT_ONLINE !== undefined ? ['1', 'true', 'yes', 'on'].includes(cfg.SANDBOX_AGENT_ONLINE.toLowerCase()) : Boolean(cfg.OPENAI_API_KEY) };
  if (cfg.SANDBOX_WHATSAPP_APP_SECRET && cfg.SANDBOX_WHATSAPP_ACCESS_TOKEN) {
    settings.whatsapp = { appSecret: cfg.SANDBOX_WHATSAPP_APP_SECRET, accessToken: cfg.SANDBOX_WHATSAPP_ACCESS_TOKEN, ingressUrl: cfg.SANDBOX_WHATSAPP_INGRESS_URL, phoneNumberId: cfg.SANDBOX_WHATSAPP_PHONE_NUMBER_ID };
  }
  if (cfg.SANDBOX_WECHAT_TOKEN && cfg.SANDBOX_WECHAT_AESKEY && cfg.SANDBOX_WECHAT_CORP_ID && cfg.SANDBOX_WECHAT_SECRET) {
    settings.wechat = { token: cfg.SANDBOX_WECHAT_TOKEN, aesKey: cfg.SANDBOX_WECHAT_AESKEY, corpId: cfg.SANDBOX_WECHAT_CORP_ID, secret: cfg.SANDBOX_WECHAT_SECRET, ingressUrl: cfg.SANDBOX_WECHAT_INGRESS_URL, openKfId: cfg.SANDBOX_WECHAT_OPEN_KFID };
  }
  if (cfg.SANDBOX_TELEGRAM_BOT_TOKEN && cfg.SANDBOX_TELEGRAM_WEBHOOK_SECRET) {
    settings.telegram = { botToken: cfg.SANDBOX_TELEGRAM_BOT_TOKEN, webhookSecret: cfg.SANDBOX_TELEGRAM_WEBHOOK_SECRET, ingressUrl: cfg.SANDBOX_TELEGRAM_INGRESS_URL };
  }
  return settings;
}

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

/**
 * `ACCOUNTS_FILE` for the console: the same checks as every process (ids, channels, `agent` files;
 * one {@link ConfigError} naming every problem), but a `${NAME}` the admin's environment lacks is
 * not a problem here — the console shows ids, channels, titles and agent files only, so secrets may
 * stay with the ingress and worker processes. Channel keys are checked by those processes.
 */
export function readAccountsForConsole(path: string | undefined, source: Readonly<Record<string, string | undefined>> = process.env): AccountsFile | undefined {
  if (!path) return undefined;
  const lenient = new Proxy<Record<string, string>>({}, { get: (_, name) => (typeof name === 'string' ? source[name] || `\${${name}}` : undefined) });
  return readAccountsFile(path, lenient);
}

/**
 * The environment an agent configuration's `${NAME}` references (HTTP tool headers) are read from
 * in the admin app: the value when set, else a placeholder — the console's preview never runs an
 * HTTP tool, so a secret only the workers hold is not needed here.
 */
export function previewConfigEnv(source: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  return new Proxy<Record<string, string>>({}, { get: (_, name) => (typeof name === 'string' ? source[name] || 'unused-by-the-preview' : undefined) });
}
