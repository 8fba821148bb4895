import { z } from 'zod';
import { defineAccountFile, defineChannelWorker, DEFAULT_ACCOUNT_ID, type ChannelAccounts, type EnvOf } from '@switchboard/core';
import { DEFAULT_WHATSAPP_MEDIA_ORIGINS, fetchEnv } from '@switchboard/fetch';
import { createWhatsAppOutboundAdapter, fallbackTemplateJob, GraphClient, parseTemplateSpec, whatsappAccountFields, whatsappAdmission, whatsappEnv, WHATSAPP_MEDIA_RULES } from './outbound.js';
import type { WorkerRuntime } from '@switchboard/channel-runtime';
import { createWhatsAppMediaPreparer, WhatsAppMediaSource } from './whatsapp.media.js';
import { TemplateCatalogueService } from './whatsapp.template-catalogue.js';
import { templateStatusHook } from './whatsapp.template-hook.js';
import { createWhatsAppHeldReplyPolicy, parseReengageParams, type WhatsAppReengageSettings } from './whatsapp.reengage.js';
import { newConversationFrom } from './whatsapp.broadcast.js';

/** Typed settings of one WhatsApp sending account. */
export interface WhatsAppWorkerSettings {
  readonly accessToken: string;
  readonly graphUrl: string;
  /** Origins besides the Graph origin that receive the token (Meta's media CDN). */
  readonly mediaOrigins: readonly string[];
  readonly outboundMediaMode: 'upload' | 'link';
  /** Empty = everyone may talk to the bot. */
  readonly allowedUsers: readonly string[];
  readonly disallowedPolicy: 'silent' | 'refuse';
  readonly refusalText: string;
  readonly sendRatePerSec: number;
  readonly fallbackTemplate?: { name: string; language: string };
  /** Held replies and their re-engagement template (WHATSAPP_REENGAGE_TEMPLATE or the older WHATSAPP_FALLBACK_TEMPLATE). */
  readonly reengage?: WhatsAppReengageSettings;
  readonly reconcileWaitMs: number;
  /** Timeout of one message send (WHATSAPP_SEND_TIMEOUT_MS). */
  readonly sendTimeoutMs: number;
  readonly maxPartsPerReply: number;
  readonly shortenedNote: string;
  /** File accounts: the phone number ids this account sends from (empty = any the webhooks bring). */
  readonly phoneNumberIds: readonly string[];
  /** The number business-started conversations go from (WHATSAPP_PHONE_NUMBER_ID; file accounts: `phoneNumberId`, default their first number). */
  readonly sendingNumber?: string;
  /** The WhatsApp Business Account id (WHATSAPP_WABA_ID or the file's `wabaId`): template sync. */
  readonly wabaId?: string;
  /** How often the template catalogue is synced (WHATSAPP_TEMPLATE_REFRESH_MS). */
  readonly templateRefreshMs: number;
  /** Minutes the bot stays quiet after a Coexistence echo (WHATSAPP_ECHO_QUIET_MINUTES; file accounts: `echoQuietMinutes`). */
  readonly echoQuietMinutes: number;
}

const env = {
  ...whatsappEnv,
  WHATSAPP_MEDIA_ORIGINS: fetchEnv.WHATSAPP_MEDIA_ORIGINS,
  /** Outbound WhatsApp media: `upload` (POST /{phone-number-id}/media, then send by id) or `link`. */
  MEDIA_WHATSAPP_OUTBOUND_MODE: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.enum(['upload', 'link']).default('upload')),
};

/** The re-engagement settings of one account: its template (or none = replies are not held) and the deployment's hold settings. */
function reengageOf(template: { name: string; language: string } | undefined, params: string | undefined, e: EnvOf<typeof env>): WhatsAppReengageSettings | undefined {
  if (!template) return undefined;
  const parsed = parseReengageParams(params);
  return {
    template,
    ...(parsed ? { params: parsed } : {}),
    ...(e.WHATSAPP_REENGAGE_REASON ? { reasonText: e.WHATSAPP_REENGAGE_REASON } : {}),
    ttlMs: Math.round(e.WHATSAPP_HELD_REPLY_TTL_HOURS * 3600_000),
    maxPerConversation: e.WHATSAPP_HELD_REPLY_MAX,
  };
}

/** The WhatsApp Cloud API channel, worker half. */
export const whatsapp = defineChannelWorker<typeof env, WhatsAppWorkerSettings, WorkerRuntime>({
  id: 'whatsapp',
  title: 'WhatsApp',
  env,
  outboundQueue: 'outbound-whatsapp',
  media: WHATSAPP_MEDIA_RULES,
  customerIdKind: 'wa_id',
  accounts(e): ChannelAccounts<WhatsAppWorkerSettings> {
    if (!e.WHATSAPP_ACCESS_TOKEN) return { enabled: false, missing: ['WHATSAPP_ACCESS_TOKEN'] };
    const rate = Number(e.WHATSAPP_SEND_RATE);
    const tpl = parseTemplateSpec(e.WHATSAPP_REENGAGE_TEMPLATE ?? e.WHATSAPP_FALLBACK_TEMPLATE);
    const reengage = reengageOf(tpl, e.WHATSAPP_REENGAGE_PARAMS, e);
    const settings: WhatsAppWorkerSettings = {
      accessToken: e.WHATSAPP_ACCESS_TOKEN,
      graphUrl: e.WHATSAPP_GRAPH_URL,
      mediaOrigins: e.WHATSAPP_MEDIA_ORIGINS ?? DEFAULT_WHATSAPP_MEDIA_ORIGINS,
      outboundMediaMode: e.MEDIA_WHATSAPP_OUTBOUND_MODE,
      allowedUsers: e.WHATSAPP_ALLOWED_USERS,
      disallowedPolicy: e.WHATSAPP_DISALLOWED_POLICY === 'refuse' ? 'refuse' : 'silent',
      refusalText: e.WHATSAPP_REFUSAL_TEXT,
      sendRatePerSec: Number.isFinite(rate) && rate > 0 ? rate : 80,
      reconcileWaitMs: e.WHATSAPP_RECONCILE_WAIT_MS,
      sendTimeoutMs: e.WHATSAPP_SEND_TIMEOUT_MS,
      maxPartsPerReply: e.WHATSAPP_MAX_PARTS_PER_REPLY,
      shortenedNote: e.WHATSAPP_SHORTENED_NOTE,
      phoneNumberIds: [],
      ...(e.WHATSAPP_PHONE_NUMBER_ID ? { sendingNumber: e.WHATSAPP_PHONE_NUMBER_ID } : {}),
      templateRefreshMs: e.WHATSAPP_TEMPLATE_REFRESH_MS,
      echoQuietMinutes: e.WHATSAPP_ECHO_QUIET_MINUTES,
      ...(e.WHATSAPP_WABA_ID ? { wabaId: e.WHATSAPP_WABA_ID } : {}),
      ...(tpl ? { fallbackTemplate: tpl } : {}),
      ...(reengage ? { reengage } : {}),
    };
    return { enabled: true, accounts: [{ id: DEFAULT_ACCOUNT_ID, settings }] };
  },
  accountFile: defineAccountFile(whatsappAccountFields, (f, _entry, e): WhatsAppWorkerSettings => {
    const rate = Number(e.WHATSAPP_SEND_RATE);
    const tpl = parseTemplateSpec(f.reengageTemplate ?? f.fallbackTemplate);
    const reengage = reengageOf(tpl, f.reengageParams, e);
    return {
      accessToken: f.accessToken,
      graphUrl: e.WHATSAPP_GRAPH_URL,
      mediaOrigins: e.WHATSAPP_MEDIA_ORIGINS ?? DEFAULT_WHATSAPP_MEDIA_ORIGINS,
      outboundMediaMode: e.MEDIA_WHATSAPP_OUTBOUND_MODE,
      // WHATSAPP_ALLOWED_USERS belongs to the account `default`; file accounts use their agent's access list
      allowedUsers: [],
      disallowedPolicy: 'silent',
      refusalText: e.WHATSAPP_REFUSAL_TEXT,
      sendRatePerSec: f.sendRate ?? (Number.isFinite(rate) && rate > 0 ? rate : 80),
      reconcileWaitMs: e.WHATSAPP_RECONCILE_WAIT_MS,
      sendTimeoutMs: e.WHATSAPP_SEND_TIMEOUT_MS,
      maxPartsPerReply: e.WHATSAPP_MAX_PARTS_PER_REPLY,
      shortenedNote: e.WHATSAPP_SHORTENED_NOTE,
      phoneNumberIds: f.phoneNumberIds,
      sendingNumber: f.phoneNumberId ?? f.phoneNumberIds[0],
      templateRefreshMs: e.WHATSAPP_TEMPLATE_REFRESH_MS,
      echoQuietMinutes: f.echoQuietMinutes ?? e.WHATSAPP_ECHO_QUIET_MINUTES,
      ...(f.wabaId ? { wabaId: f.wabaId } : {}),
      ...(tpl ? { fallbackTemplate: tpl } : {}),
      ...(reengage ? { reengage } : {}),
    };
  }),
  // Cloud API throughput is per phone number: each number of an account has this rate
  sendRate: (s) => ({ max: s.sendRatePerSec, durationMs: 1000 }),
  open(account, ctx) {
    const s = account.settings;
    const client = new GraphClient({ baseUrl: s.graphUrl, accessToken: s.accessToken, sendTimeoutMs: s.sendTimeoutMs });
    const media = createWhatsAppMediaPreparer(
      { graphUrl: s.graphUrl, accessToken: s.accessToken, mode: s.outboundMediaMode },
      { store: ctx.media.store, ffmpeg: ctx.media.ffmpeg, redis: ctx.redis, keys: ctx.media.keys, timeoutMs: ctx.media.env.MEDIA_DOWNLOAD_TIMEOUT_MS, fetcher: ctx.fetcher, log: ctx.log },
    );
    const adapter = createWhatsAppOutboundAdapter({
      client,
      media,
      reconcileWaitMs: s.reconcileWaitMs,
      render: { maxParts: s.maxPartsPerReply, shortenedNote: s.shortenedNote },
      // no inline fallback template: a reply refused with 131047 is held (the worker sends the re-engagement template once per episode)
    });
    const templates = s.wabaId
      ? new TemplateCatalogueService({ redis: ctx.redis, keys: ctx.keys.templates, accounts: new Map([[account.id, { wabaId: s.wabaId, client }]]), log: ctx.log })
      : undefined;
    const heldReplies = s.reengage ? createWhatsAppHeldReplyPolicy(s.reengage, templates ? () => templates.get(account.id) : undefined) : undefined;
    // a 131047 status whose reply can no longer be held (its job is gone) still gets the template, when it needs no variables
    const fallback = s.reengage?.params ? undefined : s.fallbackTemplate;
    return {
      accountId: account.id,
      adapter,
      mediaSource: new WhatsAppMediaSource({ graphUrl: s.graphUrl, accessToken: s.accessToken, mediaOrigins: s.mediaOrigins, fetcher: ctx.fetcher }),
      admit: (ref) => whatsappAdmission(s, ref),
      sender: (ref) => ref.account,
      // Coexistence: after the business wrote from the WhatsApp Business app the bot stays quiet this long
      businessReplyQuietMs: s.echoQuietMinutes * 60_000,
      ...(heldReplies ? { heldReplies } : {}),
      newConversation: (customerId) => newConversationFrom(s.sendingNumber ?? s.phoneNumberIds[0], account.id, customerId),
      // 131047 (outside the 24 h window) usually arrives as a failed status: its reply is held (above); else the template once per failed reply
      statusFollowUp: (event) => fallbackTemplateJob(event, fallback),
      ...(templates
        ? {
            inboundHooks: [templateStatusHook(templates, account.id)],
            // every inbound worker runs the schedule; each period one of them claims the sync
            roles: {
              inbound: () => {
                templates.startSchedule(s.templateRefreshMs);
                return [];
              },
            },
          }
        : {}),
    };
  },
});
