import { conversationId, DEFAULT_ACCOUNT_ID, type ConversationRef, type RecordEntry } from '@switchboard/core';
import { erasedCustomerHash } from './record.keys.js';
import { sql, tsvectorLiteral, type Database, type Insertable, type Kysely, type Transaction } from '@switchboard/store';

/** Rows one statement inserts at most (well under PostgreSQL's 65535 bind parameters). */
const ROWS_PER_STATEMENT = 1000;

/** What one {@link RecordWriter.write} inserted (entries already recorded are not counted). */
export interface RecordWriteResult {
  conversations: number;
  messages: number;
  statuses: number;
  events: number;
  turns: number;
  /** Entries dropped because their customer was erased after them (not rows: left out of row metrics). */
  erased: number;
}

type Entry<K extends RecordEntry['kind']> = Extract<RecordEntry, { kind: K }>;
type WithRef = Entry<'message'> | Entry<'event'> | Entry<'turn'>;

/** Ownership events: they decide `rec_conversation.owner` (the latest by `at` wins). */
export const OWNERSHIP_EVENTS = { handoff: 'human', resume: 'bot' } as const;

function chunks<T>(rows: readonly T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const jsonb = (value: unknown) => sql<never>`${JSON.stringify(value)}::jsonb`;

/** Keeps the first entry of each kind and id (a batch may carry a redelivered job twice). */
function unique(entries: readonly RecordEntry[]): RecordEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    const key = `${e.kind}\u0000${e.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The time an entry stands for when checked against an erasure: a reply counts from the message it answers. */
function factTime(e: WithRef): number {
  return e.kind === 'message' && e.repliesToAt !== undefined ? Math.min(e.at, e.repliesToAt) : e.at;
}

/**
 * The entries minus those of an erased customer dated at or before the erasure (a turn in flight
 * while the customer was erased must not bring their rows back). The erasure holds SHARE ROW
 * EXCLUSIVE on `rec_conversation` while it writes its tombstone and deletes; taking ROW EXCLUSIVE
 * before reading the tombstones means a batch either commits before the erasure deletes (and its
 * rows are deleted with the rest) or reads the tombstone the erasure committed.
 */
async function withoutErased(trx: Transaction<Database>, entries: RecordEntry[]): Promise<RecordEntry[]> {
  const hashes = new Map<RecordEntry, string>();
  for (const e of entries) if (e.kind !== 'status') hashes.set(e, erasedCustomerHash(e.ref.channel, e.ref.accountId, e.ref.userId));
  if (hashes.size === 0) return entries;
  await sql`lock table rec_conversation in row exclusive mode`.execute(trx);
  const tombstones = await trx.selectFrom('rec_erasure').select(['customer_hash', 'erased_at']).where('customer_hash', 'in', [...new Set(hashes.values())]).execute();
  if (tombstones.length === 0) return entries;
  const erasedAt = new Map(tombstones.map((t) => [t.customer_hash, t.erased_at.getTime()]));
  return entries.filter((e) => {
    if (e.kind === 'status') return true;
    const at = erasedAt.get(hashes.get(e)!);
    return at === undefined || factTime(e) > at;
  });
}

/**
 * Writes record entries into the store, idempotently: every row is keyed by the entry's id and
 * inserted `on conflict do nothing`, and the conversation's counters only move by the rows that
 * were really inserted, so a redelivered event or a retried job writes nothing twice. One batch is
 * one transaction with one multi-row insert per table. Entries may arrive in any order: a
 * conversation keeps its first and last message time, its message count and its owner (the
 * latest ownership event by `at`) whatever order the batches come in. Entries of a customer erased
 * after them are dropped (`rec_erasure`, written by `CustomerErasure`).
 */
export class RecordWriter {
  constructor(private readonly db: Kysely<Database>) {}

  /** Writes one batch in one transaction. Rejects (writing nothing) when the store refuses it. */
  async write(entries: readonly RecordEntry[]): Promise<RecordWriteResult> {
    const result: RecordWriteResult = { conversations: 0, messages: 0, statuses: 0, events: 0, turns: 0, erased: 0 };
    const unseen = unique(entries);
    if (unseen.length === 0) return result;
    return this.db.transaction().execute(async (trx) => {
      const all = await withoutErased(trx, unseen);
      result.erased = unseen.length - all.length;
      result.conversations = await this.upsertConversations(trx, all.filter((e): e is WithRef => e.kind !== 'status'));
      result.messages = await this.insertMessages(trx, all.filter((e): e is Entry<'message'> => e.kind === 'message'));
      result.statuses = await this.insertStatuses(trx, all.filter((e): e is Entry<'status'> => e.kind === 'status'));
      result.events = await this.insertEvents(trx, all.filter((e): e is Entry<'event'> => e.kind === 'event'));
      result.turns = await this.insertTurns(trx, all.filter((e): e is Entry<'turn'> => e.kind === 'turn'));
      return result;
    });
  }

  /** Creates the conversations the entries belong to (new ones only; the name is refreshed). */
  private async upsertConversations(trx: Transaction<Database>, entries: readonly WithRef[]): Promise<number> {
    const convs = new Map<string, { ref: ConversationRef; name: string | undefined; first: number; last: number; nameAt: number }>();
    for (const e of entries) {
      const id = conversationId(e.ref);
      const name = e.ref.displayName?.trim() || undefined;
      const c = convs.get(id);
      if (!c) {
        convs.set(id, { ref: e.ref, name, first: e.at, last: e.at, nameAt: name ? e.at : -Infinity });
        continue;
      }
      c.first = Math.min(c.first, e.at);
      c.last = Math.max(c.last, e.at);
      if (name && e.at >= c.nameAt) {
        c.name = name;
        c.nameAt = e.at;
      }
    }
    // a fixed lock order (by id) so two batches touching the same conversations never deadlock
    const rows: Array<Insertable<Database['rec_conversation']>> = [...convs.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, c]) => ({
        id,
        channel: c.ref.channel,
        account_id: c.ref.accountId ?? DEFAULT_ACCOUNT_ID,
        provider_account: c.ref.account,
        customer_id: c.ref.userId,
        thread_id: c.ref.threadId ?? null,
        customer_name: c.name ?? null,
        first_message_at: new Date(c.first),
        last_message_at: new Date(c.last),
      }));
    let created = 0;
    for (const part of chunks(rows)) {
      const out = await trx
        .insertInto('rec_conversation')
        .values(part)
        .onConflict((oc) => oc.column('id').doUpdateSet({ customer_name: sql`coalesce(excluded.customer_name, rec_conversation.customer_name)` }))
        // xmax = 0 only on a row this statement inserted (an update of an existing row sets it)
        .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
        .execute();
      created += out.filter((r) => r.inserted).length;
    }
    return created;
  }

  private async insertMessages(trx: Transaction<Database>, entries: readonly Entry<'message'>[]): Promise<number> {
    const inserted: Array<{ conversation_id: string; at: Date; author: string }> = [];
    const rows = [...entries].sort(byId).map((e) => ({
      id: e.id,
      conversation_id: conversationId(e.ref),
      direction: e.direction,
      author: e.author,
      origin: e.origin ?? null,
      content_type: e.contentType,
      text: e.text,
      media_text: e.mediaText ?? null,
      terms: sql<string>`${tsvectorLiteral(e.mediaText ? `${e.text}\n${e.mediaText}` : e.text)}::tsvector`,
      media: e.media ? jsonb(e.media) : null,
      provider_message_id: e.providerMessageId ?? null,
      turn_id: e.turnId ?? null,
      at: new Date(e.at),
    }));
    for (const part of chunks(rows)) {
      const rows = await trx
        .insertInto('rec_message')
        .values(part)
        // a message first recorded before its media was read (a turn that failed, then retried) gains its media text once
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({ media_text: sql`excluded.media_text`, terms: sql`excluded.terms` })
            .where('rec_message.media_text', 'is', null)
            .where(sql.ref('excluded.media_text'), 'is not', null),
        )
        .returning(['conversation_id', 'at', 'author', sql<boolean>`(xmax = 0)`.as('inserted')])
        .execute();
      inserted.push(...rows.filter((r) => r.inserted));
    }
    if (inserted.length === 0) return 0;
    const per = new Map<string, { n: number; first: number; last: number; human: boolean }>();
    for (const r of inserted) {
      const at = r.at.getTime();
      const c = per.get(r.conversation_id) ?? { n: 0, first: at, last: at, human: false };
      c.n += 1;
      c.first = Math.min(c.first, at);
      c.last = Math.max(c.last, at);
      c.human ||= r.author === 'human';
      per.set(r.conversation_id, c);
    }
    const values = [...per.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, c]) => sql`(${id}::text, ${c.n}::int, ${new Date(c.first)}::timestamptz, ${new Date(c.last)}::timestamptz, ${c.human}::boolean)`);
    // a conversation first created by a turn or an event has no message time yet: its first message sets both
    await sql`
      update rec_conversation c set
        message_count = c.message_count + v.n,
        first_message_at = case when c.message_count = 0 then v.first_at else least(c.first_message_at, v.first_at) end,
        last_message_at = case when c.message_count = 0 then v.last_at else greatest(c.last_message_at, v.last_at) end,
        had_human = c.had_human or v.human,
        updated_at = now()
      from (values ${sql.join(values)}) as v(id, n, first_at, last_at, human)
      where c.id = v.id`.execute(trx);
    return inserted.length;
  }

  private async insertStatuses(trx: Transaction<Database>, entries: readonly Entry<'status'>[]): Promise<number> {
    let n = 0;
    const rows = [...entries].sort(byId).map((e) => ({
      id: e.id,
      channel: e.channel,
      account_id: e.accountId ?? DEFAULT_ACCOUNT_ID,
      provider_message_id: e.providerMessageId,
      status: e.status,
      error_code: e.errorCode ?? null,
      error_title: e.errorTitle ?? null,
      at: new Date(e.at),
    }));
    for (const part of chunks(rows)) n += (await trx.insertInto('rec_status').values(part).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute()).length;
    return n;
  }

  private async insertEvents(trx: Transaction<Database>, entries: readonly Entry<'event'>[]): Promise<number> {
    const inserted: Array<{ conversation_id: string; kind: string }> = [];
    const rows = [...entries].sort(byId).map((e) => ({ id: e.id, conversation_id: conversationId(e.ref), kind: e.event, detail: jsonb(e.detail), at: new Date(e.at) }));
    for (const part of chunks(rows)) inserted.push(...(await trx.insertInto('rec_event').values(part).onConflict((oc) => oc.column('id').doNothing()).returning(['conversation_id', 'kind']).execute()));
    const owners = [...new Set(inserted.filter((r) => r.kind in OWNERSHIP_EVENTS).map((r) => r.conversation_id))].sort();
    if (owners.length > 0) {
      // the owner is the latest ownership event by time (batches may arrive out of order)
      await sql`
        update rec_conversation c set
          owner = l.owner,
          handoff_reason = coalesce(h.reason, c.handoff_reason),
          had_human = c.had_human or h.conversation_id is not null,
          updated_at = now()
        from (
          select distinct on (conversation_id) conversation_id, case when kind = 'handoff' then 'human' else 'bot' end as owner
          from rec_event where conversation_id = any(${owners}::text[]) and kind in ('handoff', 'resume')
          order by conversation_id, at desc, id desc
        ) l
        left join (
          select distinct on (conversation_id) conversation_id, detail->>'reason' as reason
          from rec_event where conversation_id = any(${owners}::text[]) and kind = 'handoff'
          order by conversation_id, at desc, id desc
        ) h on h.conversation_id = l.conversation_id
        where c.id = l.conversation_id`.execute(trx);
    }
    return inserted.length;
  }

  private async insertTurns(trx: Transaction<Database>, entries: readonly Entry<'turn'>[]): Promise<number> {
    let n = 0;
    const rows = [...entries].sort(byId).map((e) => ({
      id: e.id,
      conversation_id: conversationId(e.ref),
      at: new Date(e.at),
      outcome: e.outcome,
      model: e.model ?? null,
      variant: e.variant ?? null,
      latency_ms: e.latencyMs ?? null,
      tokens_in: e.tokensIn,
      tokens_out: e.tokensOut,
      cost_usd: e.costUsd,
      tools: jsonb(e.tools),
      sources: jsonb(e.sources),
    }));
    for (const part of chunks(rows)) n += (await trx.insertInto('rec_turn').values(part).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute()).length;
    return n;
  }
}
