import { sql, tsvectorLiteral, type Database, type Kysely, type RecMedia, type RecTurnOutcome } from '@switchboard/store';

/**
 * Rows of the record written straight into the store, for tests of what reads it (the pipeline's
 * writer is not needed to test a query). A conversation's first/last message time and message
 * count are computed from its seeded messages, as the writer maintains them.
 */

export interface SeedConversation {
  readonly id: string;
  readonly channel: string;
  readonly account?: string;
  readonly providerAccount: string;
  readonly customerId: string;
  readonly customerName?: string;
  readonly threadId?: string;
  readonly owner?: 'bot' | 'human';
  readonly handoffReason?: string;
  readonly hadHuman?: boolean;
}

export interface SeedMessage {
  readonly id: string;
  readonly conversationId: string;
  readonly direction: 'in' | 'out';
  readonly author: 'customer' | 'bot' | 'human';
  readonly text: string;
  readonly at: Date;
  readonly origin?: string;
  readonly contentType?: string;
  readonly media?: RecMedia;
  readonly providerMessageId?: string;
  readonly turnId?: string;
}

export interface SeedStatus {
  readonly id: string;
  readonly channel: string;
  readonly providerMessageId: string;
  readonly status: string;
  readonly at: Date;
  readonly errorCode?: number;
  readonly errorTitle?: string;
}

export interface SeedEvent {
  readonly id: string;
  readonly conversationId: string;
  readonly kind: string;
  readonly at: Date;
  readonly detail?: Record<string, unknown>;
}

export interface SeedTurn {
  readonly id: string;
  readonly conversationId: string;
  readonly at: Date;
  readonly outcome: RecTurnOutcome;
  readonly model?: string;
  readonly variant?: string;
  readonly latencyMs?: number;
  readonly tokensIn?: number;
  readonly tokensOut?: number;
  readonly costUsd?: number;
  readonly tools?: string[];
  readonly sources?: Array<{ documentId: string; title: string; url?: string }>;
}

export interface RecordSeed {
  readonly conversations?: readonly SeedConversation[];
  readonly messages?: readonly SeedMessage[];
  readonly statuses?: readonly SeedStatus[];
  readonly events?: readonly SeedEvent[];
  readonly turns?: readonly SeedTurn[];
}

const CHUNK = 500;

async function inChunks<T>(rows: readonly T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await write(rows.slice(i, i + CHUNK));
}

/** Inserts the rows (conversations first), then sets each seeded conversation's message times and count. */
export async function seedRecord(db: Kysely<Database>, seed: RecordSeed): Promise<void> {
  const epoch = new Date(0);
  await inChunks(seed.conversations ?? [], (rows) =>
    db
      .insertInto('rec_conversation')
      .values(
        rows.map((c) => ({
          id: c.id,
          channel: c.channel,
          account_id: c.account ?? 'default',
          provider_account: c.providerAccount,
          customer_id: c.customerId,
          customer_name: c.customerName ?? null,
          thread_id: c.threadId ?? null,
          owner: c.owner ?? 'bot',
          handoff_reason: c.handoffReason ?? null,
          had_human: c.hadHuman ?? c.owner === 'human',
          first_message_at: epoch,
          last_message_at: epoch,
        })),
      )
      .execute(),
  );
  await inChunks(seed.messages ?? [], (rows) =>
    db
      .insertInto('rec_message')
      .values(
        rows.map((m) => ({
          id: m.id,
          conversation_id: m.conversationId,
          direction: m.direction,
          author: m.author,
          origin: m.origin ?? null,
          content_type: m.contentType ?? 'text',
          text: m.text,
          terms: sql`${tsvectorLiteral(m.text)}::tsvector`,
          media: m.media ? (JSON.stringify(m.media) as unknown as RecMedia) : null,
          provider_message_id: m.providerMessageId ?? null,
          turn_id: m.turnId ?? null,
          at: m.at,
        })),
      )
      .execute(),
  );
  await inChunks(seed.statuses ?? [], (rows) =>
    db
      .insertInto('rec_status')
      .values(rows.map((s) => ({ id: s.id, channel: s.channel, provider_message_id: s.providerMessageId, status: s.status, error_code: s.errorCode ?? null, error_title: s.errorTitle ?? null, at: s.at })))
      .execute(),
  );
  await inChunks(seed.events ?? [], (rows) =>
    db
      .insertInto('rec_event')
      .values(rows.map((e) => ({ id: e.id, conversation_id: e.conversationId, kind: e.kind, detail: JSON.stringify(e.detail ?? {}) as unknown as Record<string, unknown>, at: e.at })))
      .execute(),
  );
  await inChunks(seed.turns ?? [], (rows) =>
    db
      .insertInto('rec_turn')
      .values(
        rows.map((t) => ({
          id: t.id,
          conversation_id: t.conversationId,
          at: t.at,
          outcome: t.outcome,
          model: t.model ?? null,
          variant: t.variant ?? null,
          latency_ms: t.latencyMs ?? null,
          tokens_in: t.tokensIn ?? 0,
          tokens_out: t.tokensOut ?? 0,
          cost_usd: t.costUsd ?? 0,
          tools: JSON.stringify(t.tools ?? []) as unknown as string[],
          sources: JSON.stringify(t.sources ?? []) as unknown as Array<{ documentId: string; title: string }>,
        })),
      )
      .execute(),
  );
  const ids = [...new Set([...(seed.conversations ?? []).map((c) => c.id), ...(seed.messages ?? []).map((m) => m.conversationId)])];
  await inChunks(ids, (chunk) =>
    db
      .updateTable('rec_conversation as c')
      .from(
        db
          .selectFrom('rec_message')
          .select(['conversation_id'])
          .select((eb) => [eb.fn.min('at').as('first_at'), eb.fn.max('at').as('last_at'), eb.fn.countAll<string>().as('n')])
          .where('conversation_id', 'in', chunk)
          .groupBy('conversation_id')
          .as('agg'),
      )
      .set((eb) => ({ first_message_at: eb.ref('agg.first_at'), last_message_at: eb.ref('agg.last_at'), message_count: sql<number>`agg.n::int` }))
      .whereRef('c.id', '=', 'agg.conversation_id')
      .execute(),
  );
}
