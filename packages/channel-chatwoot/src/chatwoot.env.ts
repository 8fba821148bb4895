import { csv, flag, int, optional, port, url } from '@switchboard/core';
import { z } from 'zod';
import { ALL_MIRROR_FACTS, MirrorFactList, type MirrorFact, type MirrorFactSettings } from './chatwoot.mirror-facts-config.js';

/** `on`, `off` or a list of mirror facts; empty = unset (the default, `on`). */
const factList = () => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), MirrorFactList.optional());

/** A numeric id variable (Chatwoot account, inbox and bot ids); empty = unset. */
const numericId = () =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().int().positive().optional());

/**
 * Environment fragment of the Chatwoot channel (configuration contract plus own tuning knobs).
 * Compose it into an app's `loadConfig({ ...baseEnv, ...chatwootEnv })`.
 */
export const chatwootEnv = {
  /** Chatwoot base URL, e.g. `https://support.example.com` (no trailing slash). */
  CHATWOOT_URL: url(),
  CHATWOOT_ACCOUNT_ID: numericId(),
  /** Agent-bot access token: replies, typing, status changes, conversation re-checks. */
  CHATWOOT_BOT_TOKEN: optional(),
  /** Access token of an administrator "integration" user: contacts, conversations and statuses of the mirror inbox. */
  CHATWOOT_API_TOKEN: optional(),
  /** Signing secrets (agent bot, API inbox, account webhook), comma-separated; unset = accept unsigned. */
  CHATWOOT_WEBHOOK_SECRET: csv(),
  /** API inbox that mirrors WhatsApp/WeChat conversations; unset = no mirroring. */
  CHATWOOT_MIRROR_INBOX_ID: numericId(),
  CHATWOOT_PORT: port(3003),
  /** The agent bot's id: lets the gate tell our bot from another bot assigned to a conversation, and mirrors bot replies as the bot. */
  CHATWOOT_BOT_ID: numericId(),
  /** Accepted clock skew / replay window of `X-Chatwoot-Timestamp`, seconds (Chatwoot PR #13573 suggests ~5 min). */
  CHATWOOT_SIGNATURE_WINDOW_SEC: int(300, 1),
  /** Largest webhook body accepted, bytes (a message payload with 15 attachments is ~40 kB). */
  CHATWOOT_MAX_BODY_BYTES: int(1_048_576, 1024),
  /** Timeout of every Chatwoot API call, ms. */
  CHATWOOT_HTTP_TIMEOUT_MS: int(10_000, 100),
  /** Labels on mirror conversations: `on` (default), `off`, or a list of `channel,account,language,handoff,opted-out`. */
  CHATWOOT_LABELS: factList(),
  /** Custom attributes on mirror conversations (and `opted_out` on the contact): `on` (default), `off`, or a list of `channel,account,language,handoff,summary,opted-out`. */
  CHATWOOT_ATTRIBUTES: factList(),
  /** Mirror what the media step read out of a customer's file (voice transcript, document text) as a private note beside it. */
  CHATWOOT_MIRROR_MEDIA_NOTES: flag(true),
};

/** The values {@link chatwootEnv} produces. */
export type ChatwootEnv = { [K in keyof typeof chatwootEnv]: z.infer<(typeof chatwootEnv)[K]> };

/** Resolved Chatwoot settings; `enabled` is false (with the reason) when the base URL or account is missing. */
export type ChatwootSettings =
  | { readonly enabled: false; readonly reason: string; readonly webhookSecrets: readonly string[]; readonly signatureWindowSec: number; readonly maxBodyBytes: number; readonly port: number }
  | {
      readonly enabled: true;
      readonly baseUrl: string;
      readonly accountId: number;
      readonly botToken?: string;
      readonly apiToken?: string;
      readonly botId?: number;
      readonly webhookSecrets: readonly string[];
      readonly mirrorInboxId?: number;
      /** Private notes with the transcript / text of mirrored customer files (default on). */
      readonly mirrorMediaNotes: boolean;
      readonly signatureWindowSec: number;
      readonly maxBodyBytes: number;
      readonly httpTimeoutMs: number;
      readonly port: number;
      /** Which facts the mirror shows as labels and custom attributes. */
      readonly mirrorFacts: MirrorFactSettings;
    };

/**
 * Turns the parsed environment into settings. Never throws: a channel whose credentials are absent is
 * disabled (the caller warns once), as the configuration contract requires.
 */
export function chatwootSettings(env: Partial<ChatwootEnv>): ChatwootSettings {
  const common = {
    webhookSecrets: env.CHATWOOT_WEBHOOK_SECRET ?? [],
    signatureWindowSec: env.CHATWOOT_SIGNATURE_WINDOW_SEC ?? 300,
    maxBodyBytes: env.CHATWOOT_MAX_BODY_BYTES ?? 1_048_576,
    port: env.CHATWOOT_PORT ?? 3003,
  };
  const missing = [!env.CHATWOOT_URL && 'CHATWOOT_URL', !env.CHATWOOT_ACCOUNT_ID && 'CHATWOOT_ACCOUNT_ID'].filter(
    (m): m is string => typeof m === 'string',
  );
  if (!env.CHATWOOT_URL || !env.CHATWOOT_ACCOUNT_ID) {
    return { enabled: false, reason: `missing ${missing.join(', ')}`, ...common };
  }
  return {
    enabled: true,
    baseUrl: env.CHATWOOT_URL,
    accountId: env.CHATWOOT_ACCOUNT_ID,
    ...(env.CHATWOOT_BOT_TOKEN ? { botToken: env.CHATWOOT_BOT_TOKEN } : {}),
    ...(env.CHATWOOT_API_TOKEN ? { apiToken: env.CHATWOOT_API_TOKEN } : {}),
    ...(env.CHATWOOT_BOT_ID ? { botId: env.CHATWOOT_BOT_ID } : {}),
    ...(env.CHATWOOT_MIRROR_INBOX_ID ? { mirrorInboxId: env.CHATWOOT_MIRROR_INBOX_ID } : {}),
    mirrorMediaNotes: env.CHATWOOT_MIRROR_MEDIA_NOTES ?? true,
    httpTimeoutMs: env.CHATWOOT_HTTP_TIMEOUT_MS ?? 10_000,
    mirrorFacts: mirrorFactsOf(env.CHATWOOT_LABELS, env.CHATWOOT_ATTRIBUTES),
    ...common,
  };
}

/** The fact settings of an account: its own lists, else the environment's, else every fact. */
function mirrorFactsOf(labels: readonly MirrorFact[] | undefined, attributes: readonly MirrorFact[] | undefined): MirrorFactSettings {
  return { labels: labels ?? ALL_MIRROR_FACTS.labels, attributes: attributes ?? ALL_MIRROR_FACTS.attributes };
}

/** Chatwoot ids are positive integers; YAML may write them quoted. */
const FileId = z.union([z.number(), z.string().regex(/^\d{1,12}$/, 'must be a numeric id')]).transform(Number).pipe(z.number().int().positive());

/** The keys of a Chatwoot instance/account in `ACCOUNTS_FILE`; both halves read them. */
export const chatwootAccountFields = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be the http(s) base URL of the Chatwoot instance' }).transform((u) => u.replace(/\/+$/, '')),
  accountId: FileId,
  botToken: z.string().min(1).optional(),
  apiToken: z.string().min(1).optional(),
  /** The signing secret(s) of this account's webhooks (agent bot, API inbox, account webhook); required. */
  webhookSecret: z.union([z.string().min(1).transform((s) => [s]), z.array(z.string().min(1)).min(1)]),
  mirrorInboxId: FileId.optional(),
  botId: FileId.optional(),
  /** Labels on this instance's mirror conversations (`on`, `off` or a list); unset = CHATWOOT_LABELS. */
  labels: MirrorFactList.optional(),
  /** Custom attributes on this instance's mirror conversations (`on`, `off` or a list); unset = CHATWOOT_ATTRIBUTES. */
  attributes: MirrorFactList.optional(),
  /** Private notes with the transcript / text of mirrored customer files; absent = CHATWOOT_MIRROR_MEDIA_NOTES. */
  mirrorMediaNotes: z.union([z.boolean(), z.enum(['on', 'off']).transform((v) => v === 'on')]).optional(),
});
export type ChatwootAccountFields = z.output<typeof chatwootAccountFields>;

/** Settings of a file account (deployment-wide tuning from the environment). */
export function chatwootFileSettings(f: ChatwootAccountFields, env: Partial<ChatwootEnv>): Extract<ChatwootSettings, { enabled: true }> {
  return {
    enabled: true,
    baseUrl: f.url,
    accountId: f.accountId,
    ...(f.botToken ? { botToken: f.botToken } : {}),
    ...(f.apiToken ? { apiToken: f.apiToken } : {}),
    ...(f.botId ? { botId: f.botId } : {}),
    ...(f.mirrorInboxId ? { mirrorInboxId: f.mirrorInboxId } : {}),
    mirrorMediaNotes: f.mirrorMediaNotes ?? env.CHATWOOT_MIRROR_MEDIA_NOTES ?? true,
    webhookSecrets: f.webhookSecret,
    signatureWindowSec: env.CHATWOOT_SIGNATURE_WINDOW_SEC ?? 300,
    maxBodyBytes: env.CHATWOOT_MAX_BODY_BYTES ?? 1_048_576,
    httpTimeoutMs: env.CHATWOOT_HTTP_TIMEOUT_MS ?? 10_000,
    port: env.CHATWOOT_PORT ?? 3003,
    mirrorFacts: mirrorFactsOf(f.labels ?? env.CHATWOOT_LABELS, f.attributes ?? env.CHATWOOT_ATTRIBUTES),
  };
}
