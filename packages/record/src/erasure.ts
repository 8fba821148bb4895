import { conversationId, customerId, identifierClass, normalizeIdentifier, QUEUES, shortHash, type ChannelId, type ConversationRef, type Logger, type PersonIdentifierKind, type QueueName } from '@switchboard/core';
import { gatewayKeys, type Producers, type RedisClient } from '@switchboard/queue';
import { sql, type Database, type Kysely } from '@switchboard/store';
import { Counter, type Registry } from 'prom-client';
import { erasedCustomerHash } from './record.keys.js';

/**
 * Erasure of one customer: the one procedure behind `DELETE /api/v1/customers/:channel/:customerId`
 * and the agent's "delete my data" path. It removes the customer's record rows from the store and
 * every Redis key family that holds something of theirs, listed once in {@link customerKeyFamilies}.
 *
 * Not erased, because nothing in them is the customer's: dedupe claims (`seen`, Chatwoot webhook
 * claims, mirrored-message markers: a hash and `1`), per-minute counters, send-rate state (keyed by
 * the sending account), cached answers (`agent:cache`, only non-personal single-turn questions),
 * fetched pages (`media:link`, keyed by URL, shared by everyone who sent it) and upload ids of the
 * gateway's own media (`media:wa-upload`, `media:wx-upload`).
 */

/** Who to erase: a customer as the channel names them, on one gateway account. */
export interface ErasureTarget {
  readonly channel: ChannelId;
  /** The id the channel uses for the customer (WhatsApp wa_id or BSUID, WeChat external_userid, Telegram chat id, Chatwoot contact id). */
  readonly customerId: string;
  /** The gateway account (`ACCOUNTS_FILE` id); absent = `default`. */
  readonly accountId?: string;
}

/** A conversation of the customer, with what the key families are keyed by. */
export interface ErasedConversation {
  /** The pipeline's conversation id. */
  readonly id: string;
  readonly ref: Pick<ConversationRef, 'channel' | 'accountId' | 'account' | 'userId' | 'threadId'>;
  /** Outbound ids of replies sent in it (from the record's `out:<outboundId>:<part>` rows). */
  readonly outboundIds: readonly string[];
  /** Provider message ids of its messages (delivery ledger and status rows). */
  readonly providerMessageIds: readonly string[];
  /** Event ids of the customer's messages (from the record's `in:<eventId>` rows): their inbound jobs. */
  readonly eventIds: readonly string[];
}

/** One family of Redis keys holding a customer's data: exact keys and SCAN patterns of one conversation. */
export interface KeyFamily {
  readonly name: string;
  /** What the key is derived from. */
  readonly keyedBy: 'conversation' | 'customer' | 'outbound' | 'provider-message';
  readonly keys: (c: ErasedConversation) => { exact?: string[]; patterns?: string[] };
}

/** Escapes Redis glob metacharacters so a literal key part matches only itself. */
function globLiteral(s: string): string {
  return s.replace(/[*?[\]\\]/g, (m) => `\\${m}`);
}

/** The SCAN pattern of every key that shares `sample`'s prefix up to its last `:` segment. */
function lastSegmentPattern(sample: string): string {
  return `${globLiteral(sample.slice(0, sample.lastIndexOf(':') + 1))}*`;
}

/**
 * Every Redis key family keyed by a customer or one of their conversations, from the gateway's key
 * registry (`gatewayKeys`). Adding a customer-keyed key to the registry means adding it here; the
 * erasure test scans the whole prefix to catch a family missing from this list.
 */
export function customerKeyFamilies(prefix: string): readonly KeyFamily[] {
  const k = gatewayKeys(prefix);
  const cust = (c: ErasedConversation) => customerId(c.ref);
  return [
    { name: 'agent memory and summary', keyedBy: 'conversation', keys: (c) => ({ exact: [k.agent.memory(c.id), k.agent.summary(c.id)] }) },
    { name: 'agent failure streak and A/B variant', keyedBy: 'conversation', keys: (c) => ({ exact: [k.agent.failures(c.id), k.agent.variant(c.id)] }) },
    { name: 'agent profile', keyedBy: 'customer', keys: (c) => ({ exact: [k.agent.profile(cust(c))] }) },
    { name: 'pending verification code (hashed)', keyedBy: 'customer', keys: (c) => ({ exact: [k.agent.verification(cust(c))] }) },
    {
      name: 'agent rate limit of a role (roles.<role>.rateLimit)',
      keyedBy: 'customer',
      keys: (c) => ({ patterns: [`${globLiteral(k.agent.rateLimiterPrefix())}:role-*:${globLiteral(cust(c))}`] }),
    },
    {
      name: 'agent rate limit (counter, notice, per-turn decisions)',
      keyedBy: 'customer',
      // rate-limiter-flexible names its counter `${keyPrefix}:${key}`
      keys: (c) => ({ exact: [`${k.agent.rateLimiterPrefix()}:${cust(c)}`, k.agent.rateNotice(cust(c))], patterns: [lastSegmentPattern(k.agent.rateDecision(cust(c), 'x'))] }),
    },
    { name: 'pending mailbox and debounce/turn state', keyedBy: 'conversation', keys: (c) => ({ exact: [k.mailbox(c.id), k.turn(c.id)] }) },
    { name: 'stored replies', keyedBy: 'conversation', keys: (c) => ({ exact: [k.lastReply(c.id)], patterns: [lastSegmentPattern(k.reply(c.id, 0))] }) },
    { name: 'held replies (closed customer-service window)', keyedBy: 'conversation', keys: (c) => ({ exact: [k.held.index(c.id), k.held.state(c.id)] }) },
    { name: 'ownership and reachability', keyedBy: 'conversation', keys: (c) => ({ exact: [k.owner(c.id), k.unreachable(c.id)] }) },
    { name: 'outbound progress, pair rate and send slots', keyedBy: 'outbound', keys: (c) => ({ exact: c.outboundIds.flatMap((o) => [k.outbound(o), k.pairRate(o)]), patterns: c.outboundIds.map((o) => lastSegmentPattern(k.sendSlot(o, 0))) }) },
    { name: 'delivery ledger', keyedBy: 'provider-message', keys: (c) => ({ exact: c.providerMessageIds.map((id) => k.delivery(c.ref.channel, id)) }) },
    { name: 'media transcripts', keyedBy: 'conversation', keys: (c) => ({ patterns: [lastSegmentPattern(k.media.transcript(c.id, 'x'))] }) },
    {
      name: 'Chatwoot mirror mapping (by conversation)',
      keyedBy: 'conversation',
      // every gateway account may mirror it into its own Chatwoot instance: `cw:mref:<id>` and `cw:acct:<gw>:mref:<id>`
      keys: (c) => ({ exact: [k.chatwoot.mirrorByRef(c.id)], patterns: [globLiteral(k.chatwoot.mirrorByRef(c.id, 'gw-x')).replace(':acct:gw-x:', ':acct:*:')] }),
    },
    {
      name: 'Chatwoot mirror state (contact profile, labels and attributes applied)',
      keyedBy: 'conversation',
      keys: (c) => ({ exact: [k.chatwoot.mirrorState(c.id)], patterns: [globLiteral(k.chatwoot.mirrorState(c.id, 'gw-x')).replace(':acct:gw-x:', ':acct:*:')] }),
    },
    {
      name: 'WeChat customer profile (kf/customer/batchget nickname and avatar, per corp)',
      keyedBy: 'customer',
      keys: (c) => ({ patterns: [globLiteral(k.wechat.profile('corp-x', c.ref.userId)).replace(':corp-x:', ':*:')] }),
    },
    {
      name: 'opt-out of business-initiated messages',
      keyedBy: 'customer',
      keys: (c) => ({ exact: [k.optOut(c.ref.channel, c.ref.accountId ?? 'default', c.ref.userId.replace(/^\+/, ''))] }),
    },
    {
      name: 'last customer contact (the conversation of API messages and customer-service window)',
      keyedBy: 'customer',
      keys: (c) => ({ exact: [...new Set([c.ref.userId, c.ref.userId.replace(/^\+/, '')])].map((id) => k.contact(c.ref.channel, c.ref.accountId ?? 'default', id)) }),
    },
    {
      name: 'send allowance (customer-initiated window)',
      keyedBy: 'customer',
      keys: (c) => {
        const a = k.wechat.allowance(c.ref.account, c.ref.userId);
        return { exact: [a.last, a.msgid, a.sent] };
      },
    },
  ];
}

/** What one erasure removed (counts only: it is logged and returned as is). */
export interface ErasureReport {
  /** The hashed customer (channel, account and id): what logs name instead of the id. */
  readonly customer: string;
  readonly conversations: number;
  /** Finished or waiting BullMQ jobs of the conversations removed (their payloads hold messages). */
  readonly jobs: number;
  readonly storeRows: { readonly conversations: number; readonly statuses: number };
  readonly redisKeys: number;
}

/** What the procedure needs; `db` undefined = no store (Redis only, conversations from `known`). */
export interface ErasureDeps {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly db?: Kysely<Database> | undefined;
  readonly log: Logger;
  /** The queues: jobs of the customer's conversations (kept an hour when done, a week when failed) are removed. */
  readonly producers?: Producers;
  /** Where `record_erasures_total` is registered (once per registry). */
  readonly registry?: Registry;
  /**
   * Which directory identifier a channel's customer id is (the channel module's `customerIdKind`):
   * the erased customer's link in the directory of known people is removed (the person stays).
   */
  readonly identifierKindOf?: (channel: ChannelId) => PersonIdentifierKind | undefined;
}

/** Erases customers: the store's record rows and every Redis key family of {@link customerKeyFamilies}. */
export class CustomerErasure {
  private readonly families: readonly KeyFamily[];
  private readonly counter: Counter<'channel' | 'outcome'> | undefined;

  constructor(private readonly deps: ErasureDeps) {
    this.families = customerKeyFamilies(deps.prefix);
    if (deps.registry) {
      const existing = deps.registry.getSingleMetric('record_erasures_total') as Counter<'channel' | 'outcome'> | undefined;
      this.counter =
        existing ??
        new Counter({ name: 'record_erasures_total', help: 'Customer erasures (API or agent), by channel and outcome (erased | failed)', labelNames: ['channel', 'outcome'], registers: [deps.registry] });
    }
  }

  /**
   * Erases everything of one customer. `known` adds conversations the caller knows of (the agent's
   * current one) to those the record lists; ids are matched with and without a leading `+`.
   * Idempotent: erasing twice removes nothing the second time.
   */
  async erase(target: ErasureTarget, known: ReadonlyArray<ErasedConversation['ref']> = []): Promise<ErasureReport> {
    // what was recorded up to now goes; a record job of an earlier fact still in flight is dropped by the writer
    const erasedAt = new Date();
    const accountId = target.accountId ?? 'default';
    const customer = shortHash(`${target.channel}|${accountId}|${target.customerId.replace(/^\+/, '')}`, 16);
    try {
      const fromStore = this.deps.db ? await this.conversationsInStore(target, accountId) : [];
      const byId = new Map<string, ErasedConversation>(fromStore.map((c) => [c.id, c]));
      for (const ref of known) {
        const id = conversationId(ref);
        if (!byId.has(id)) byId.set(id, { id, ref, outboundIds: [], providerMessageIds: [], eventIds: [] });
      }
      const conversations = [...byId.values()];
      const jobs = await this.eraseJobs(conversations);
      const redisKeys = await this.eraseRedis(conversations);
      const storeRows = this.deps.db ? await this.eraseStore(target, accountId, erasedAt, conversations) : { conversations: 0, statuses: 0 };
      const report: ErasureReport = { customer, conversations: conversations.length, jobs, storeRows, redisKeys };
      this.counter?.inc({ channel: target.channel, outcome: 'erased' });
      this.deps.log.info('customer erased', { channel: target.channel, accountId, ...report });
      return report;
    } catch (err) {
      this.counter?.inc({ channel: target.channel, outcome: 'failed' });
      this.deps.log.error('customer erasure failed', { channel: target.channel, accountId, customer, err: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  }

  private async conversationsInStore(target: ErasureTarget, accountId: string): Promise<ErasedConversation[]> {
    const db = this.deps.db!;
    const ids = [...new Set([target.customerId, target.customerId.replace(/^\+/, '')])];
    const rows = await db
      .selectFrom('rec_conversation')
      .select(['id', 'channel', 'account_id', 'provider_account', 'customer_id', 'thread_id'])
      .where('channel', '=', target.channel)
      .where('account_id', '=', accountId)
      .where('customer_id', 'in', ids)
      .execute();
    if (rows.length === 0) return [];
    const messages = await db
      .selectFrom('rec_message')
      .select(['conversation_id', 'id', 'provider_message_id'])
      .where('conversation_id', 'in', rows.map((r) => r.id))
      .execute();
    return rows.map((r) => {
      const own = messages.filter((m) => m.conversation_id === r.id);
      const outboundIds = new Set<string>();
      const eventIds: string[] = [];
      for (const m of own) {
        const out = /^out:(.+):\d+$/.exec(m.id);
        if (out?.[1]) outboundIds.add(out[1]);
        if (m.id.startsWith('in:')) eventIds.push(m.id.slice(3));
      }
      return {
        id: r.id,
        ref: { channel: target.channel, ...(r.account_id !== 'default' ? { accountId: r.account_id } : {}), account: r.provider_account, userId: r.customer_id, ...(r.thread_id ? { threadId: r.thread_id } : {}) },
        outboundIds: [...outboundIds],
        eventIds,
        providerMessageIds: own.flatMap((m) => (m.provider_message_id ? [m.provider_message_id] : [])),
      };
    });
  }

  private async eraseRedis(conversations: readonly ErasedConversation[]): Promise<number> {
    const keys = new Set<string>();
    const patterns: string[] = [];
    for (const c of conversations) {
      for (const f of this.families) {
        const { exact = [], patterns: p = [] } = f.keys(c);
        exact.forEach((key) => keys.add(key));
        patterns.push(...p);
      }
    }
    for (const pattern of patterns) for (const key of await this.scan(pattern)) keys.add(key);
    // a mirror mapping points at its Chatwoot conversation, whose reverse mapping goes too
    const mirrorRefs = [...keys].filter((key) => key.includes(':cw:') && key.includes(':mref:'));
    for (const refKey of mirrorRefs) {
      const raw = await this.deps.redis.get(refKey);
      const mapping = raw ? (safeJson(raw) as { accountId?: unknown; conversationId?: unknown } | undefined) : undefined;
      if (typeof mapping?.accountId === 'number' && typeof mapping.conversationId === 'number') {
        const gateway = /:cw:acct:([^:]+):mref:/.exec(refKey)?.[1];
        keys.add(gatewayKeys(this.deps.prefix).chatwoot.mirrorByConversation(mapping.accountId, mapping.conversationId, gateway));
      }
    }
    let removed = 0;
    // one key per command: a hash-tagged prefix keeps them in one slot, but plain prefixes may span a cluster
    for (const key of keys) removed += await this.deps.redis.del(key);
    // the index of human-owned conversations is shared: only the customer's members leave it
    if (conversations.length) {
      await this.deps.redis.zrem(gatewayKeys(this.deps.prefix).owners(), ...conversations.map((c) => c.id));
      // so is the set of ownership expiries the worker sweeps
      await this.deps.redis.zrem(gatewayKeys(this.deps.prefix).resumeDue(), ...conversations.map((c) => c.id));
    }
    return removed;
  }

  /**
   * Removes the jobs of the conversations from every queue: turn, reply and mirror jobs carry the
   * conversation id in their job id, inbound and mirror jobs the event id. One SCAN of the queue
   * prefix finds them. A job being processed right now is locked and stays (BullMQ refuses); it
   * finishes and ages out with the queue's retention.
   */
  private async eraseJobs(conversations: readonly ErasedConversation[]): Promise<number> {
    const producers = this.deps.producers;
    if (!producers || conversations.length === 0) return 0;
    const marks = conversations.flatMap((c) => [c.id, ...c.eventIds]);
    const queues = new Set<string>(Object.keys(QUEUES));
    const base = `${producers.prefix}:`;
    let removed = 0;
    for (const key of await this.scan(`${globLiteral(base)}*`)) {
      const rest = key.slice(base.length);
      const colon = rest.indexOf(':');
      const queue = rest.slice(0, colon);
      const id = rest.slice(colon + 1);
      // job hashes only: `<job id>:logs`, `:lock` and the queue's own keys go with them or are not jobs
      if (colon < 0 || !queues.has(queue) || id.includes(':') || !marks.some((m) => id.includes(m))) continue;
      if ((await this.deps.redis.type(key)) !== 'hash') continue;
      if ((await producers.queue(queue as QueueName).remove(id)) === 1) removed += 1;
    }
    return removed;
  }

  private async scan(pattern: string): Promise<string[]> {
    const found: string[] = [];
    const redis = this.deps.redis;
    const nodes = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        found.push(...batch);
      } while (cursor !== '0');
    }
    return found;
  }

  /**
   * Writes the customer's tombstone and deletes their rows in one transaction that holds SHARE ROW
   * EXCLUSIVE on `rec_conversation`: a writer batch in flight commits first (its rows are deleted
   * here), a later one reads the tombstone and drops the customer's older entries (`RecordWriter`).
   * The tombstone is written even when nothing is recorded yet: the first turn may still be running.
   */
  private async eraseStore(target: ErasureTarget, accountId: string, erasedAt: Date, conversations: readonly ErasedConversation[]): Promise<{ conversations: number; statuses: number }> {
    return this.deps.db!.transaction().execute(async (trx) => {
      await sql`lock table rec_conversation in share row exclusive mode`.execute(trx);
      await trx
        .insertInto('rec_erasure')
        .values({ customer_hash: erasedCustomerHash(target.channel, accountId, target.customerId), erased_at: erasedAt })
        .onConflict((oc) => oc.column('customer_hash').doUpdateSet({ erased_at: sql`greatest(rec_erasure.erased_at, excluded.erased_at)` }))
        .execute();
      // listed again under the lock: a batch committed since the first look may have opened a conversation
      const now = await trx
        .selectFrom('rec_conversation')
        .select('id')
        .where('channel', '=', target.channel)
        .where('account_id', '=', accountId)
        .where('customer_id', 'in', [...new Set([target.customerId, target.customerId.replace(/^\+/, '')])])
        .execute();
      const kind = this.deps.identifierKindOf?.(target.channel);
      const identifier = kind ? normalizeIdentifier(kind, target.customerId) : undefined;
      if (kind && identifier !== undefined) {
        await trx.deleteFrom('people_identifier').where('account', '=', accountId).where('kind_class', '=', identifierClass(kind)).where('value', '=', identifier).execute();
      }
      const ids = [...new Set([...conversations.map((c) => c.id), ...now.map((r) => r.id)])];
      if (ids.length === 0) return { conversations: 0, statuses: 0 };
      const sent = await trx.selectFrom('rec_message').select('provider_message_id').where('conversation_id', 'in', ids).where('provider_message_id', 'is not', null).execute();
      const providerIds = [...new Set([...conversations.flatMap((c) => c.providerMessageIds), ...sent.map((m) => m.provider_message_id!)])];
      const statuses = providerIds.length ? await trx.deleteFrom('rec_status').where('channel', '=', target.channel).where('provider_message_id', 'in', providerIds).executeTakeFirst() : undefined;
      // messages, events and turns go with their conversation (on delete cascade)
      const convs = await trx.deleteFrom('rec_conversation').where('id', 'in', ids).executeTakeFirst();
      return { conversations: Number(convs.numDeletedRows), statuses: Number(statuses?.numDeletedRows ?? 0n) };
    });
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
