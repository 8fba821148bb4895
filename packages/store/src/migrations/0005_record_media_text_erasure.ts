import { sql, type Kysely } from 'kysely';

// Migrations are frozen once released: change the schema with a new file, never by editing one.

/**
 * The record, second step:
 * - `rec_message.media_text`: what a customer's media said — a voice note's transcript or a
 *   document's extracted text (bounded) — kept beside the normalized `text` and searched with it.
 * - `rec_erasure`: one tombstone per erased customer (a hash of channel, gateway account and
 *   customer id, never the id) and when the erasure ran; the writer drops entries of that customer
 *   dated before it, so a record job still in flight cannot bring the erased rows back.
 */
export async function up(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema.alterTable('rec_message').addColumn('media_text', 'text').execute();
  await db.schema
    .createTable('rec_erasure')
    .addColumn('customer_hash', 'text', (c) => c.primaryKey())
    .addColumn('erased_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('rec_erasure_erased_at').on('rec_erasure').column('erased_at').execute();
}

export async function down(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema.dropTable('rec_erasure').execute();
  await db.schema.alterTable('rec_message').dropColumn('media_text').execute();
}
