import { shortHash } from '@switchboard/core';

/**
 * The one registry of the gateway's Redis key names: every key the gateway reads or writes is
 * named here (BullMQ's own keys aside). All share the queue prefix so that, with a hash-tagged
 * prefix such as `{gw}`, every key of one Lua script lands in one Redis Cluster slot. Provider ids
 * that are long or personal are hashed here, so callers pass them raw.
 */
/** The key segment of a non-default gateway account (`acct`, id); none for `default`. */
function cwScope(gateway: string | undefined): string[] {
  return gateway === undefined || gateway === 'default' ? [] : ['acct', gateway];
}

const keysOfPrefix = new Map<string, GatewayKeys>();

/** The key names under one prefix (built once per prefix: the hot paths ask for them per message). */
export function gatewayKeys(prefix: string): GatewayKeys {
  let keys = keysOfPrefix.get(prefix);
  if (!keys) {
    keys = buildGatewayKeys(prefix);
    keysOfPrefix.set(prefix, keys);
  }
  return keys;
}

function buildGatewayKeys(prefix: string) {
  const p = `${prefix}:sb`;
  const at = (...parts: string[]) => [p, ...parts].join(':');
  return {
    /** Dedupe claim of one provider event (TTL = provider retry horizon). */
    seen: (eventId: string) => `${p}:seen:${eventId}`,
    /** A conversation's pending messages, oldest first. */
    mailbox: (conversationId: string) => `${p}:mb:${conversationId}`,
    /** A conversation's turn state: seq, pending, running, count, first, last. */
    turn: (conversationId: string) => `${p}:turn:${conversationId}`,
    /** Claim of one agent worker's periodic sweep for pending turns without a job (PX, no value). */
    turnRepairClaim: () => `${p}:turnrepair`,
    /** The reply produced for one turn, so a retried turn never asks the LLM twice. */
    reply: (conversationId: string, seq: number) => `${p}:reply:${conversationId}:${seq}`,
    /** Progress of an outbound reply: parts sent so far, and (`after`) the reply it waits for. */
    outbound: (outboundId: string) => `${p}:out:${outboundId}`,
    /** The newest reply enqueued for a conversation (its outbound id): the next reply goes after it. */
    lastReply: (conversationId: string) => `${p}:lastout:${conversationId}`,
    /** Per-recipient rate-limit retries of one outbound reply (WhatsApp 131056). */
    pairRate: (outboundId: string) => at('pairrate', outboundId),
    /** A sender's send rate state (WhatsApp: one phone number; other channels: one account). */
    sendRate: (channel: string, sender: string) => at('sendrate', channel, shortHash(sender, 24)),
    /** The send slot reserved for one part of a reply under its sender's rate. */
    sendSlot: (outboundId: string, part: number) => at('sendslot', outboundId, String(part)),
    /** Delivery state of one sent provider message. */
    delivery: (channel: string, providerMessageId: string) => `${p}:dlv:${channel}:${providerMessageId}`,
    /** Conversation ownership: bot or human. */
    owner: (conversationId: string) => `${p}:owner:${conversationId}`,
    /** Index of human-owned conversations (sorted set: conversation id → since, ms). */
    owners: () => at('owners'),
    /** Human-owned conversations with an expiry (sorted set: conversation id → until, ms), swept by the worker's auto-resume. */
    resumeDue: () => at('resume-due'),
    /** Events of one channel and direction in one minute (admin overview). */
    stats: (channel: string, direction: string, minute: number) => at('stats', channel, direction, String(minute)),
    /** Events of one gateway account (`default` = the channel's environment) and direction in one minute (admin overview). */
    accountStats: (channel: string, accountId: string, direction: string, minute: number) => at('stats-account', channel, accountId, direction, String(minute)),
    /** Accounts with counted events (sorted set: `<channel>/<accountId>` → last event, ms), so the overview lists accounts no longer in ACCOUNTS_FILE too. */
    statsAccounts: () => at('stats-accounts'),
    /** The customer cannot be reached (blocked the bot, deactivated): the reason, until they write again or unblock. */
    unreachable: (conversationId: string) => at('unreachable', conversationId),
    /**
     * A customer opted out of business-initiated messages (JSON, see `OptOutStore`; no TTL, removed
     * by opt-in or erasure): channel, gateway account (`default` included) and the hashed customer id.
     */
    optOut: (channel: string, accountId: string, customerId: string) => at('optout', channel, accountId, shortHash(customerId, 24)),

    /**
     * The last customer message of one customer on one gateway account (hash: `ref` JSON, `last` ms,
     * `entry` ms of the last ad/post entry point): the conversation the API writes to and the
     * customer-service window.
     */
    contact: (channel: string, accountId: string, userId: string) => at('contact', channel, accountId, shortHash(userId, 24)),

    /** Replies held while a customer's free-form window is closed (`HeldReplies`). */
    held: {
      /** A conversation's held replies (sorted set: outbound id → order, ms), oldest first. */
      index: (conversationId: string) => at('held', conversationId),
      /** A conversation's held replies and hold episode (hash: `j:<id>` entry JSON, `f:<id>` first unsent part, `episode`, `open`, `ttl`, `rel:<tag>`, `x:<id>`). */
      state: (conversationId: string) => at('heldst', conversationId),
      /** Conversations with held replies (sorted set: conversation id → when its oldest held reply expires, ms). */
      due: () => at('held-due'),
    },

    /** The HTTP API's state. */
    api: {
      /** One `Idempotency-Key` of one API key (hash: `body` hash, `id`, `status`). */
      idempotency: (keyName: string, idempotencyKey: string) => at('api', 'idem', shortHash(`${keyName}|${idempotencyKey}`, 32)),
      /** One API message (hash: `channel`, `key` = the API key name that sent it). */
      message: (id: string) => at('api', 'msg', id),
      /**
       * Status callbacks of one API message (hash: `rank` of the last status claimed for a
       * callback, `p:<status>` = the job of a callback not yet posted or given up).
       */
      callbacks: (id: string) => at('api', 'cb', id),
      /** Revoked API keys (hash: key name → fingerprint of the revoked secret; no TTL, removed by restore). */
      revoked: () => at('api', 'revoked'),
      /** Who revoked which key when (hash: key name → JSON `{at, by}`). */
      revokedInfo: () => at('api', 'revoked-info'),
      /** One API key's rate-limit state (the theoretical arrival time in ms; expires when the bucket is full). */
      rate: (keyName: string) => at('api', 'rate', keyName),
    },
    /** Broadcasts (`POST /api/v1/broadcasts`, see `BroadcastStore`): everything of one broadcast under `bc:<id>`. */
    broadcast: {
      /** The broadcast (hash: channel, account, template, status, total, cursor, sendAt, …). */
      meta: (id: string) => at('bc', id),
      /** Recipients `n*CHUNK …` (JSON array). */
      chunk: (id: string, n: number) => at('bc', id, 'r', String(n)),
      /** Each fed recipient's state (hash: index → q, s, d, r, c, f:<reason>, x:<reason>). */
      states: (id: string) => at('bc', id, 'st'),
      /** The counts (hash: sent, delivered, read, cancelled, failed:<reason>, skipped:<reason>). */
      counts: (id: string) => at('bc', id, 'n'),
      /** Recipients fed whose send is not finished yet (sorted set: index → fed at, ms). */
      inflight: (id: string) => at('bc', id, 'fl'),
      /** One `Idempotency-Key` of one API key for broadcasts (hash: `body` hash, `id`, `state`). */
      idempotency: (keyName: string, idempotencyKey: string) => at('bc', 'idem', shortHash(`${keyName}|${idempotencyKey}`, 32)),
    },
    /** One-shot markers (e.g. the allowlist refusal was sent once). */
    once: (name: string) => `${p}:once:${name}`,

    /** The agent's keys, all under `:agent:`; per-conversation keys end with the conversation id, per-customer keys with the customer id (the erase procedure relies on it). */
    agent: {
      /** Conversation memory: a list of JSON turns, newest last. */
      memory: (conversationId: string) => at('agent', 'mem', conversationId),
      /** Failed LLM turns of a conversation (hash: turn id → 1, `count`). */
      failures: (conversationId: string) => at('agent', 'fail', conversationId),
      /** The rate-limit decision taken for one turn, so a retried turn gets the same decision. */
      rateDecision: (customerId: string, turnId: string) => at('agent', 'rld', customerId, turnId),
      /** Marks that the rate-limit notice was sent in the current window. */
      rateNotice: (customerId: string) => at('agent', 'rln', customerId),
      /** Key prefix of rate-limiter-flexible's counters. */
      rateLimiterPrefix: () => at('agent', 'rl'),
      /** Running summary of turns that left the memory window. */
      summary: (conversationId: string) => at('agent', 'sum', conversationId),
      /** A customer's profile across conversations. */
      profile: (customerId: string) => at('agent', 'prof', customerId),
      /** The conversation's A/B variant. */
      variant: (conversationId: string) => at('agent', 'ab', conversationId),
      /** Cached LLM answer of a non-personal, single-turn question. */
      cache: (hash: string) => at('agent', 'cache', hash),
      /** Questions the knowledge base could not answer (strict grounding): a sorted set per gateway account, member = question id (hash of the normalised question), score = last asked (epoch ms); the newest 1000. */
      unanswered: (accountId: string) => at('agent', 'unq', accountId),
      /** The details of {@link unanswered}'s questions (hash: `q:<id>` first ask, `n:<id>` count, `c:<id>` last channel, `t:<id>` last turn). */
      unansweredDetails: (accountId: string) => at('agent', 'unqd', accountId),
      /** A customer's pending verification (hash: code digest, salt, named person, attempts), with the code's TTL. */
      verification: (customerId: string) => at('agent', 'verify', customerId),
    },

    /** Media pipeline caches. */
    media: {
      /** WhatsApp media id of a URL uploaded from one phone number id. */
      whatsappUpload: (phoneNumberId: string, url: string) => at('media', 'wa-upload', shortHash(`${phoneNumberId}|${url}`, 32)),
      /** WeChat media id of an uploaded URL. */
      wechatUpload: (url: string) => at('media', 'wx-upload', shortHash(url, 32)),
      /** Readable text (or why it could not be read) of a page a customer sent, by URL (short TTL). */
      linkPage: (url: string) => at('media', 'link', shortHash(url, 32)),
      /** Transcript of one media identity (channel, account and media id or URL), scoped by its conversation so an erasure finds it. */
      transcript: (conversationId: string, identity: string) => at('media', 'transcript', conversationId, shortHash(identity, 32)),
    },

    /**
     * Chatwoot: mirror mappings, locks and webhook claims. The mirror keys of a gateway account
     * other than `default` (`gateway`) are its own: two instances may both have account 1 and
     * conversation 1000; the `default` account keeps the keys it always had.
     */
    chatwoot: {
      /** Mirror mapping by the original conversation. */
      mirrorByRef: (conversationId: string, gateway?: string) => at('cw', ...cwScope(gateway), 'mref', conversationId),
      /** Mirror mapping by the Chatwoot conversation. */
      mirrorByConversation: (accountId: number, chatwootConversationId: number, gateway?: string) => at('cw', ...cwScope(gateway), 'mconv', String(accountId), String(chatwootConversationId)),
      /** Lock that makes one mirror creation happen once across workers. */
      mirrorLock: (name: string, gateway?: string) => at('cw', ...cwScope(gateway), 'lock', shortHash(name, 24)),
      /** What the mirror last applied to one conversation (hash: Chatwoot conversation, contact profile, labels and attributes). */
      mirrorState: (conversationId: string, gateway?: string) => at('cw', ...cwScope(gateway), 'mstate', conversationId),
      /** One mirrored message (dedupe before posting). */
      mirroredMessage: (messageSourceId: string, gateway?: string) => at('cw', ...cwScope(gateway), 'mmsg', shortHash(messageSourceId, 32)),
      /** Claim of one webhook delivery (`X-Chatwoot-Delivery`). */
      webhookDelivery: (delivery: string) => at('cw', 'dlv', delivery),
      /** Claim of one webhook event. */
      webhookEvent: (eventId: string) => at('cw', 'evt', eventId),
    },

    /** WeChat Kefu: access token, sync state, send allowances. */
    wechat: {
      /** The cached access token of a corp. */
      token: (corpId: string) => at('wechat', 'token', corpId),
      /** Lock of one token refresh across processes. */
      tokenLock: (corpId: string) => at('wechat', 'token-lock', corpId),
      /** `gettoken` blocked for one secret after a configuration error. */
      tokenBlocked: (corpId: string, secretHash: string) => at('wechat', 'token-blocked', corpId, secretHash),
      /** `sync_msg` cursor of an account (`openKfId` unset = all accounts). */
      cursor: (corpId: string, openKfId: string | undefined) => at('wechat', 'cursor', corpId, openKfId ?? '_all'),
      /** Sync lock of an account: the worker pulling it. */
      syncLock: (corpId: string, openKfId: string | undefined) => at('wechat', 'sync-lock', corpId, openKfId ?? '_all'),
      /** Pending sync work of an account (hash: `v`, `token`). */
      syncPending: (corpId: string, openKfId: string | undefined) => at('wechat', 'sync-pending', corpId, openKfId ?? '_all'),
      /** The job watching an account's sync holder. */
      syncWatcher: (corpId: string, openKfId: string | undefined) => at('wechat', 'sync-watcher', corpId, openKfId ?? '_all'),
      /** A `welcome_code` used once. */
      welcome: (msgid: string) => at('wechat', 'welcome', shortHash(msgid, 24)),
      /** Send allowance of one customer: newest message time, its msgid, replies sent since. */
      allowance: (openKfId: string, userId: string) => {
        const base = at('wechat', 'allow', openKfId, shortHash(userId, 16));
        return { last: `${base}:last`, msgid: `${base}:msgid`, sent: `${base}:sent` };
      },
      /** Servicers' receiving state (hash: servicer user id → 1 | 0). */
      servicers: () => at('wechat', 'servicers'),
      /** A customer's cached `kf/customer/batchget` answer (nickname, avatar), per corp. */
      profile: (corpId: string, userId: string) => at('wechat', 'profile', corpId, shortHash(userId, 24)),
    },

    /** WhatsApp message templates of one account (`GatewayKeys['templates']`). */
    templates: {
      /** The cached catalogue (JSON) of one account. */
      catalogue: (accountId: string) => at('tpl', accountId),
      /** Held while one worker syncs the account's catalogue. */
      syncLock: (accountId: string) => at('tpl', accountId, 'lock'),
      /** Claimed by the worker that runs this period's scheduled sync. */
      scheduleClaim: (accountId: string) => at('tpl', accountId, 'sched'),
    },

    /**
     * @deprecated Raw namespace builder, kept only until chatwoot-ingress uses
     * `chatwoot.webhookDelivery` / `chatwoot.webhookEvent`; name new keys in this registry instead.
     */
    ns: (namespace: string, ...parts: string[]) => at(namespace, ...parts),
  };
}
/** The key names of the gateway under one prefix (see {@link gatewayKeys}). */
export type GatewayKeys = ReturnType<typeof buildGatewayKeys>;
/** The media pipeline's cache keys (`gatewayKeys(prefix).media`). */
export type MediaKeys = GatewayKeys['media'];
/** The template catalogue's keys (`gatewayKeys(prefix).templates`). */
export type TemplateKeys = GatewayKeys['templates'];
