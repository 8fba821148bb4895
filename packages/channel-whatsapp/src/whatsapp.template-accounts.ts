import { z } from 'zod';
import { ConfigError, DEFAULT_ACCOUNT_ID, type AccountsFile, type Logger } from '@switchboard/core';
import type { RedisClient, TemplateKeys } from '@switchboard/queue';
import { GraphClient } from './whatsapp.client.js';
import { whatsappAccountFields, whatsappEnv } from './whatsapp.env.js';
import { TemplateCatalogueService, type TemplateAccount } from './whatsapp.template-catalogue.js';

/** The variables a process that only reads and syncs template catalogues needs (the admin app). */
export const whatsappTemplateEnv = {
  WHATSAPP_ACCESS_TOKEN: whatsappEnv.WHATSAPP_ACCESS_TOKEN,
  WHATSAPP_GRAPH_URL: whatsappEnv.WHATSAPP_GRAPH_URL,
  WHATSAPP_WABA_ID: whatsappEnv.WHATSAPP_WABA_ID,
};
const TemplateEnv = z.object(whatsappTemplateEnv);

/**
 * The catalogues of every WhatsApp account with a business account id: the account `default`
 * (WHATSAPP_WABA_ID with WHATSAPP_ACCESS_TOKEN) and each `ACCOUNTS_FILE` entry with `wabaId`.
 * Undefined when there is none. Entries the file check refuses are left to the worker to report.
 */
export function openTemplateCatalogues(opts: {
  env: Readonly<Record<string, unknown>>;
  accountsFile?: AccountsFile | undefined;
  redis: RedisClient;
  keys: TemplateKeys;
  log?: Logger;
}): TemplateCatalogueService | undefined {
  const parsed = TemplateEnv.safeParse(opts.env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  const accounts = new Map<string, TemplateAccount>();
  if (e.WHATSAPP_ACCESS_TOKEN && e.WHATSAPP_WABA_ID) {
    accounts.set(DEFAULT_ACCOUNT_ID, { wabaId: e.WHATSAPP_WABA_ID, client: new GraphClient({ baseUrl: e.WHATSAPP_GRAPH_URL, accessToken: e.WHATSAPP_ACCESS_TOKEN }) });
  }
  for (const entry of opts.accountsFile?.entries ?? []) {
    if (entry.channel !== 'whatsapp') continue;
    const f = whatsappAccountFields.safeParse(entry.fields);
    if (!f.success || !f.data.wabaId) continue;
    accounts.set(entry.id, { wabaId: f.data.wabaId, client: new GraphClient({ baseUrl: e.WHATSAPP_GRAPH_URL, accessToken: f.data.accessToken }) });
  }
  if (accounts.size === 0) return undefined;
  return new TemplateCatalogueService({ redis: opts.redis, keys: opts.keys, accounts, ...(opts.log ? { log: opts.log } : {}) });
}
