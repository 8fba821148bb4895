import { DELIVERY_RANK, type DeliveryStatus } from '@switchboard/core';
import { sql, type Database, type Kysely, type RecMedia, type RecTurnOutcome, type Transaction } from '@switchboard/store';
import { decodeCursor, encodeCursor, type KeysetPosition } from './record.cursor.js';
import { allTermsQuery } from './record.search.js';

/**
 * The read side of the record: the conversation list (filters, full-text search, keyset pages),
 * one conversation's timeline, and the export of a date range in batches.
 */

/** Who owns a conversation. */
export type ConversationOwner = 'bot' | 'human';

/** Filters and paging of {@link RecordReader.listConversations}. */
export interface ConversationListQuery {
  readonly channel?: string | undefined;
  /** Gateway account id (`default` = the channel's environment variables). */
  readonly account?: string | undefined;
  readonly owner?: ConversationOwner | undefined;
  /** Last message at or after this time. */
  readonly from?: Date | undefined;
  /** Last message before this time. */
  readonly to?: Date | undefined;
  /** Full-text search: conversations with a message containing every word (English, Chinese…). */
  readonly q?: string | undefined;
  /** Page size (default 50, at most {@link MAX_PAGE}). */
  readonly limit?: number | undefined;
  /** `next` of the previous page. */
  readonly cursor?: string | undefined;
}

/** One row of the conversation list. */
export interface ConversationSummary {
  readonly id: string;
  readonly channel: string;
  readonly account: string;
  readonly customer: { readonly id: string; readonly name?: string };
  readonly lastMessageAt: Date;
  readonly firstMessageAt: Date;
  /** Messages of both directions. */
  readonly messageCount: number;
  readonly owner: ConversationOwner;
  readonly handoffReason?: string;
}

/** A page of conversations, newest activity first; `next` when there are more. */
export interface ConversationPage {
  readonly items: ConversationSummary[];
  readonly next?: string;
}

/** A recorded message with its current delivery status (sent messages). */
export interface TimelineMessage {
  readonly id: string;
  readonly direction: 'in' | 'out';
  readonly author: 'customer' | 'bot' | 'human';
  /** What produced a sent message: agent, human, notice, fallback, welcome, api. */
  readonly origin?: string;
  readonly contentType: string;
  readonly text: string;
  /** What the customer's media said: a voice transcript or a document's extracted text (bounded). */
  readonly mediaText?: string;
  readonly media?: RecMedia;
  readonly providerMessageId?: string;
  /** The bot turn that produced it. */
  readonly turnId?: string;
  readonly at: Date;
  /** The highest-ranked status reported for it (`failed` outranks everything). */
  readonly status?: string;
  readonly statusAt?: Date;
  /** The provider's error of a failed delivery. */
  readonly error?: { readonly code?: number; readonly title?: string };
}

/** An ownership change or another conversation-level event. */
export interface TimelineEvent {
  readonly id: string;
  /** e.g. `handoff`, `resume`. */
  readonly kind: string;
  readonly at: Date;
  readonly reason?: string;
  readonly detail: Record<string, unknown>;
}

/** What one bot turn did and cost. */
export interface TimelineTurn {
  readonly id: string;
  readonly at: Date;
  readonly outcome: RecTurnOutcome;
  readonly model?: string;
  readonly variant?: string;
  readonly latencyMs?: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly costUsd: number;
  readonly tools: string[];
  readonly sources: Array<{ documentId: string; title: string; url?: string }>;
}

/** One conversation with its whole timeline, each list ordered by `at`. */
export interface ConversationDetail extends ConversationSummary {
  readonly providerAccount: string;
  readonly threadId?: string;
  readonly hadHuman: boolean;
  readonly messages: TimelineMessage[];
  readonly events: TimelineEvent[];
  readonly turns: TimelineTurn[];
}

/** One line of the export. */
export interface ExportLine {
  readonly conversationId: string;
  readonly channel: string;
  readonly account: string;
  readonly customerId: string;
  readonly direction: 'in' | 'out';
  readonly author: 'customer' | 'bot' | 'human';
  readonly text: string;
  /** A voice transcript or a document's extracted text, when the message had one. */
  readonly mediaText?: string;
  /** ISO 8601. */
  readonly at: string;
}

/** Largest page of the conversation list. */
export const MAX_PAGE = 200;
const DEFAULT_PAGE = 50;
/** Messages read per query of the export. */
export const EXPORT_BATCH = 1000;

/** PostgreSQL's own text of a timestamp, to the microsecond (see record.cursor.ts). */
const positionOf = (column: string) => sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** `DELIVERY_RANK` as SQL, so the database picks the current status as the ledger would. */
const statusRank = sql<number>`case ${sql.ref('s.status')} ${sql.join(
  (Object.entries(DELIVERY_RANK) as Array<[DeliveryStatus, number]>).map(([status, rank]) => sql`when ${sql.lit(status)} then ${sql.lit(rank)}`),
  sql` `,
)} else -1 end`;

const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/** Reads the record (see the module comment). */
export class RecordReader {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Conversations matching the filters, newest last message first (ties by id), one page at a
   * time. A cursor is a position in that order: rows already seen never come again, even when
   * conversations are added between pages. Throws `InvalidCursorError` for a foreign cursor.
   */
  async listConversations(query: ConversationListQuery = {}): Promise<ConversationPage> {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
    const after = query.cursor !== undefined ? decodeCursor(query.cursor) : undefined;
    const tsquery = query.q !== undefined && query.q.trim() !== '' ? allTermsQuery(query.q) : undefined;
    // a search with no searchable word (only punctuation) matches nothing
    if (query.q !== undefined && query.q.trim() !== '' && tsquery === undefined) return { items: [] };
    const rows = await this.db
      .selectFrom('rec_conversation as c')
      .select(['c.id', 'c.channel', 'c.account_id', 'c.customer_id', 'c.customer_name', 'c.owner', 'c.handoff_reason', 'c.first_message_at', 'c.last_message_at', 'c.message_count'])
      .select(positionOf('c.last_message_at').as('position'))
      .$if(query.channel !== undefined, (qb) => qb.where('c.channel', '=', query.channel!))
      .$if(query.account !== undefined, (qb) => qb.where('c.account_id', '=', query.account!))
      .$if(query.owner !== undefined, (qb) => qb.where('c.owner', '=', query.owner!))
      .$if(query.from !== undefined, (qb) => qb.where('c.last_message_at', '>=', query.from!))
      .$if(query.to !== undefined, (qb) => qb.where('c.last_message_at', '<', query.to!))
      .$if(tsquery !== undefined, (qb) =>
        qb.where((eb) =>
          eb.exists(
            eb
              .selectFrom('rec_message as m')
              .select(sql.lit(1).as('one'))
              .whereRef('m.conversation_id', '=', 'c.id')
              .where(sql<boolean>`m.terms @@ ${tsquery!}::tsquery`),
          ),
        ),
      )
      .$if(after !== undefined, (qb) => qb.where(sql<boolean>`(c.last_message_at, c.id) < (${after!.at}::timestamptz, ${after!.id})`))
      .orderBy('c.last_message_at', 'desc')
      .orderBy('c.id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const items = page.map((r) => ({
      id: r.id,
      channel: r.channel,
      account: r.account_id,
      customer: { id: r.customer_id, ...(r.customer_name ? { name: r.customer_name } : {}) },
      firstMessageAt: r.first_message_at,
      lastMessageAt: r.last_message_at,
      messageCount: r.message_count,
      owner: r.owner,
      ...(r.handoff_reason ? { handoffReason: r.handoff_reason } : {}),
    }));
    return rows.length > limit && last ? { items, next: encodeCursor({ at: last.position, id: last.id }) } : { items };
  }

  /**
   * One conversation with its messages (and their current status), events and bot turns; undefined
   * when unknown or erased. Read in one REPEATABLE READ, read-only transaction: the conversation row
   * (owner, counts) and its messages, events and turns are one snapshot, whatever the writer commits
   * meanwhile.
   */
  getConversation(id: string): Promise<ConversationDetail | undefined> {
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute((trx) => readConversation(trx, id));
  }

  /**
   * Every message with `from <= at < to`, oldest first (ties by id), read `batchSize` rows per
   * query on the `(at, id)` index: memory stays one batch whatever the range, and each message is
   * yielded exactly once. The consumer's pace drives the reads (nothing is read ahead).
   */
  async *exportMessages(range: { readonly from: Date; readonly to: Date; readonly batchSize?: number }): AsyncGenerator<ExportLine> {
    const batchSize = Math.max(1, Math.trunc(range.batchSize ?? EXPORT_BATCH));
    let after: KeysetPosition | undefined;
    for (;;) {
      const position = after;
      const rows = await this.db
        .selectFrom('rec_message as m')
        .innerJoin('rec_conversation as c', 'c.id', 'm.conversation_id')
        .select(['m.id', 'm.conversation_id', 'c.channel', 'c.account_id', 'c.customer_id', 'm.direction', 'm.author', 'm.text', 'm.media_text', 'm.at'])
        .select(positionOf('m.at').as('position'))
        .where('m.at', '>=', range.from)
        .where('m.at', '<', range.to)
        .$if(position !== undefined, (qb) => qb.where(sql<boolean>`(m.at, m.id) > (${position!.at}::timestamptz, ${position!.id})`))
        .orderBy('m.at')
        .orderBy('m.id')
        .limit(batchSize)
        .execute();
      for (const r of rows) {
        yield {
          conversationId: r.conversation_id,
          channel: r.channel,
          account: r.account_id,
          customerId: r.customer_id,
          direction: r.direction,
          author: r.author,
          text: r.text,
          ...(r.media_text ? { mediaText: r.media_text } : {}),
          at: r.at.toISOString(),
        };
      }
      const last = rows[rows.length - 1];
      if (rows.length < batchSize || !last) return;
      after = { at: last.position, id: last.id };
    }
  }
}

/** The body of {@link RecordReader.getConversation}, inside its transaction (one query after the other). */
async function readConversation(trx: Transaction<Database>, id: string): Promise<ConversationDetail | undefined> {
  const c = await trx.selectFrom('rec_conversation').selectAll().where('id', '=', id).executeTakeFirst();
  if (!c) return undefined;
  const messages = await trx
    .selectFrom('rec_message as m')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('rec_status as s')
          .select(['s.status', 's.error_code', 's.error_title', 's.at'])
          .whereRef('s.provider_message_id', '=', 'm.provider_message_id')
          .where('s.channel', '=', c.channel)
          .orderBy(statusRank, 'desc')
          .orderBy('s.at', 'desc')
          .limit(1)
          .as('st'),
      (join) => join.onTrue(),
    )
    .select(['m.id', 'm.direction', 'm.author', 'm.origin', 'm.content_type', 'm.text', 'm.media_text', 'm.media', 'm.provider_message_id', 'm.turn_id', 'm.at'])
    .select(['st.status', 'st.error_code', 'st.error_title', 'st.at as status_at'])
    .where('m.conversation_id', '=', id)
    .orderBy('m.at')
    .orderBy('m.id')
    .execute();
  const events = await trx.selectFrom('rec_event').selectAll().where('conversation_id', '=', id).orderBy('at').orderBy('id').execute();
  const turns = await trx.selectFrom('rec_turn').selectAll().where('conversation_id', '=', id).orderBy('at').orderBy('id').execute();
  return {
    id: c.id,
    channel: c.channel,
    account: c.account_id,
    providerAccount: c.provider_account,
    customer: { id: c.customer_id, ...(c.customer_name ? { name: c.customer_name } : {}) },
    ...(c.thread_id ? { threadId: c.thread_id } : {}),
    firstMessageAt: c.first_message_at,
    lastMessageAt: c.last_message_at,
    messageCount: c.message_count,
    owner: c.owner,
    ...(c.handoff_reason ? { handoffReason: c.handoff_reason } : {}),
    hadHuman: c.had_human,
    messages: messages.map((m) => {
      const error = m.error_code !== null || m.error_title !== null ? { ...(m.error_code !== null ? { code: m.error_code } : {}), ...(m.error_title ? { title: m.error_title } : {}) } : undefined;
      return {
        id: m.id,
        direction: m.direction,
        author: m.author,
        ...(m.origin ? { origin: m.origin } : {}),
        contentType: m.content_type,
        text: m.text,
        ...(m.media_text ? { mediaText: m.media_text } : {}),
        ...(m.media ? { media: m.media } : {}),
        ...(m.provider_message_id ? { providerMessageId: m.provider_message_id } : {}),
        ...(m.turn_id ? { turnId: m.turn_id } : {}),
        at: m.at,
        ...(m.status ? { status: m.status } : {}),
        ...(m.status_at ? { statusAt: m.status_at } : {}),
        ...(error ? { error } : {}),
      };
    }),
    events: events.map((e) => {
      const reason = e.detail['reason'];
      return { id: e.id, kind: e.kind, at: e.at, ...(typeof reason === 'string' && reason !== '' ? { reason } : {}), detail: e.detail };
    }),
    turns: turns.map((t) => ({
      id: t.id,
      at: t.at,
      outcome: t.outcome,
      ...(t.model ? { model: t.model } : {}),
      ...(t.variant ? { variant: t.variant } : {}),
      ...(orUndefined(t.latency_ms) !== undefined ? { latencyMs: t.latency_ms! } : {}),
      tokensIn: t.tokens_in,
      tokensOut: t.tokens_out,
      costUsd: Number(t.cost_usd),
      tools: t.tools,
      sources: t.sources,
    })),
  };
}

