import { Counter, Histogram, type Registry } from 'prom-client';
import { DEFAULT_ACCOUNT_ID, defineAccountFile, type AccountInbound, type ChannelAccount, type ChannelInbound, type ConversationRef, type InboundRuntime, type Logger } from '@switchboard/core';
import { gatewayKeys, type RedisClient } from '@switchboard/queue';
import { chatwootAccountFields, chatwootFileSettings, chatwootSettings, type ChatwootEnv, type ChatwootSettings } from './chatwoot.env.js';
import { isMirrorInbox } from './chatwoot.gate.js';
import { createChatwootInboundAdapter } from './chatwoot.inbound-adapter.js';
import { MirrorStore, resolveMirroredRef } from './chatwoot.mirror-store.js';
import { webhookConversation } from './chatwoot.parse.js';
import type { WireEnvelope } from './chatwoot.wire.js';

/** What the Chatwoot inbound half needs at run time: Redis, to map mirror-inbox webhooks (reads only). */
export interface ChatwootInboundRuntime extends InboundRuntime {
  readonly redis: RedisClient;
}

/** A delivery id is remembered this long (agent-bot retries come within seconds; a day is generous). */
const DELIVERY_TTL_SEC = 24 * 3600;
/** A message/event id is remembered this long (the pipeline-wide dedupe horizon). */
const EVENT_TTL_SEC = 7 * 24 * 3600;

/**
 * One Chatwoot account's inbound half: signature → (mirror inbox: the original conversation from
 * Redis) → normalize with the bot gate. No Chatwoot API calls.
 */
export function chatwootAccountInbound(
  settings: Extract<ChatwootSettings, { enabled: true }>,
  runtime: ChatwootInboundRuntime,
  gatewayAccountId: string = DEFAULT_ACCOUNT_ID,
): AccountInbound<WireEnvelope, { mirroredRef: ConversationRef }> {
  const gate = {
    accountId: settings.accountId,
    gatewayAccountId,
    ...(settings.botId !== undefined ? { botId: settings.botId } : {}),
    ...(settings.mirrorInboxId !== undefined ? { mirrorInboxId: settings.mirrorInboxId } : {}),
  };
  const store = new MirrorStore(runtime.redis, runtime.prefix, gatewayAccountId);
  const keys = gatewayKeys(runtime.prefix).chatwoot;
  return {
    adapter: createChatwootInboundAdapter({ secrets: settings.webhookSecrets, windowSec: settings.signatureWindowSec, ...gate }),
    async prepare(payload) {
      const where = webhookConversation(payload);
      if (!where || !isMirrorInbox(where.inboxId, gate)) return {};
      const mirroredRef = await resolveMirroredRef(store, where.accountId ?? settings.accountId, where.conversationId, where.contactInboxSourceId);
      return mirroredRef ? { mirroredRef } : {};
    },
    describe: (payload) => payload.event,
    bodyLimit: settings.maxBodyBytes,
    // delivery ids are the sender's: two instances' ids are kept apart (event ids already name the account)
    dedupe: {
      deliveryHeader: 'x-chatwoot-delivery',
      deliveryKey: (id) => keys.webhookDelivery(gatewayAccountId === DEFAULT_ACCOUNT_ID ? id : `${gatewayAccountId}.${id}`),
      deliveryTtlSec: DELIVERY_TTL_SEC,
      eventKey: keys.webhookEvent,
      eventTtlSec: EVENT_TTL_SEC,
    },
  };
}

/**
 * The inbound half of the Chatwoot channel (`POST /webhooks/chatwoot[/<accountId>]`, port 3003),
 * answering well inside Chatwoot's 5 s webhook timeout (a slow agent-bot webhook makes Chatwoot open
 * the conversation). Ignored events are acknowledged, never enqueued; a delivery is deduplicated by
 * `X-Chatwoot-Delivery` and each message by id (one message reaches us once per destination).
 */
export const chatwootInbound: ChannelInbound<ChatwootSettings, ChatwootInboundRuntime> = {
  channel: 'chatwoot',
  route: 'chatwoot',
  bodyLimit: 1_048_576,
  errorFormat: 'json',
  unsupported: 'acknowledge',
  accountFile: defineAccountFile(chatwootAccountFields, (f, _entry, env) => chatwootFileSettings(f, env as Partial<ChatwootEnv>)),
  createInbound(account, runtime) {
    const s = account.settings;
    if (!s.enabled) return { enabled: false, reason: s.reason };
    return { enabled: true, inbound: chatwootAccountInbound(s, runtime, account.id) };
  },
  answer(o) {
    if (o.result === 'duplicate_delivery') return { type: 'json', body: { status: 'duplicate' } };
    return { type: 'json', body: { status: o.result === 'accepted' ? 'enqueued' : o.result, enqueued: o.events } };
  },
  // the Chatwoot metric names dashboards already use, kept besides the common ingress metrics
  observe(registry: Registry) {
    const registers = [registry];
    const webhooks = new Counter({ name: 'sb_chatwoot_webhooks_total', help: 'Chatwoot webhooks by event and result', labelNames: ['event', 'result'], registers });
    const sigFailures = new Counter({ name: 'sb_chatwoot_signature_failures_total', help: 'Chatwoot webhooks refused for a bad or missing signature', registers });
    const enqueueLatency = new Histogram({
      name: 'sb_chatwoot_enqueue_seconds',
      help: 'Time to make a Chatwoot delivery durable in Redis',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    return {
      delivery: (result, name) => webhooks.inc({ event: name ?? 'unknown', result: result === 'accepted' ? 'enqueued' : result }),
      signatureFailure: () => sigFailures.inc(),
      durable: (seconds) => enqueueLatency.observe(seconds),
    };
  },
};

/** The `default` account from the Chatwoot variables; disabled (warned) without URL and account id. */
export function chatwootDefaultAccount(cfg: Partial<ChatwootEnv>, log: Logger): ChannelAccount<ChatwootSettings> {
  const settings = chatwootSettings(cfg);
  if (!settings.enabled) {
    log.warn('Chatwoot channel disabled: set CHATWOOT_URL and CHATWOOT_ACCOUNT_ID to enable it', { reason: settings.reason });
  } else if (settings.webhookSecrets.length === 0) {
    log.warn('CHATWOOT_WEBHOOK_SECRET is not set: webhooks are accepted UNSIGNED (Chatwoot < 4.13 does not sign); set the agent-bot and API-inbox secrets in production');
  }
  return { id: DEFAULT_ACCOUNT_ID, settings };
}
