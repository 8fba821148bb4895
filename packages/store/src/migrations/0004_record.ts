import { sql, type Kysely } from 'kysely';

// Migrations are frozen once released: change the schema with a new file, never by editing one.

/**
 * The record: every conversation, message, delivery status, ownership change and bot turn, kept
 * after Redis has forgotten them. Rows are keyed by ids derived from the pipeline's own event,
 * outbound and turn ids, so a redelivered job writes nothing twice (`on conflict do nothing`).
 * Statuses are kept as rows of their own (a status may be recorded before the message it is
 * about); a message's current status is the highest-ranked one. Erasing a customer deletes their
 * conversations, which cascades to everything else of theirs.
 */
export async function up(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema
    .createTable('rec_conversation')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull().defaultTo('default'))
    .addColumn('provider_account', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('thread_id', 'text')
    .addColumn('customer_name', 'text')
    .addColumn('owner', 'text', (c) => c.notNull().defaultTo('bot').check(sql`owner in ('bot', 'human')`))
    .addColumn('handoff_reason', 'text')
    .addColumn('had_human', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('first_message_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_message_at', 'timestamptz', (c) => c.notNull())
    .addColumn('message_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('rec_conversation_last').on('rec_conversation').columns(['last_message_at desc', 'id']).execute();
  await db.schema.createIndex('rec_conversation_channel_account').on('rec_conversation').columns(['channel', 'account_id', 'last_message_at desc']).execute();
  await db.schema.createIndex('rec_conversation_customer').on('rec_conversation').columns(['channel', 'customer_id']).execute();

  await db.schema
    .createTable('rec_message')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('rec_conversation.id').onDelete('cascade'))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('in', 'out')`))
    .addColumn('author', 'text', (c) => c.notNull().check(sql`author in ('customer', 'bot', 'human')`))
    .addColumn('origin', 'text')
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('terms', sql`tsvector`, (c) => c.notNull())
    .addColumn('media', 'jsonb')
    .addColumn('provider_message_id', 'text')
    .addColumn('turn_id', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('rec_message_conversation_at').on('rec_message').columns(['conversation_id', 'at', 'id']).execute();
  await db.schema.createIndex('rec_message_at').on('rec_message').columns(['at', 'id']).execute();
  await db.schema.createIndex('rec_message_terms').on('rec_message').using('gin').column('terms').execute();
  await db.schema.createIndex('rec_message_provider_id').on('rec_message').column('provider_message_id').where(sql.ref('provider_message_id'), 'is not', null).execute();

  await db.schema
    .createTable('rec_status')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull().defaultTo('default'))
    .addColumn('provider_message_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error_code', 'integer')
    .addColumn('error_title', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rec_status_message').on('rec_status').columns(['provider_message_id', 'channel']).execute();
  await db.schema.createIndex('rec_status_at').on('rec_status').column('at').execute();

  await db.schema
    .createTable('rec_event')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('rec_conversation.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rec_event_conversation_at').on('rec_event').columns(['conversation_id', 'at']).execute();
  await db.schema.createIndex('rec_event_at').on('rec_event').columns(['kind', 'at']).execute();

  await db.schema
    .createTable('rec_turn')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('rec_conversation.id').onDelete('cascade'))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('answered', 'faq', 'cache', 'apology', 'refused', 'silent', 'handoff')`))
    .addColumn('model', 'text')
    .addColumn('variant', 'text')
    .addColumn('latency_ms', 'integer')
    .addColumn('tokens_in', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('tokens_out', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cost_usd', sql`numeric(14, 6)`, (c) => c.notNull().defaultTo(0))
    .addColumn('tools', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('sources', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  await db.schema.createIndex('rec_turn_conversation_at').on('rec_turn').columns(['conversation_id', 'at']).execute();
  await db.schema.createIndex('rec_turn_at').on('rec_turn').column('at').execute();
}

export async function down(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  for (const t of ['rec_turn', 'rec_event', 'rec_status', 'rec_message', 'rec_conversation']) await db.schema.dropTable(t).execute();
}
