import { sql, type Kysely } from 'kysely';

// Migrations are frozen once released: change the schema with a new file, never by editing one.

/**
 * What a knowledge document is read from, kept until it is read again: an upload's bytes, a text,
 * or the crawl options of a URL or sitemap, plus the validators of the last fetch (ETag,
 * Last-Modified) for scheduled re-checks.
 */
export async function up(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema
    .createTable('kb_source')
    .addColumn('document_id', 'text', (c) => c.primaryKey().references('kb_document.id').onDelete('cascade'))
    .addColumn('body', 'bytea')
    .addColumn('text', 'text')
    .addColumn('options', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('etag', 'text')
    .addColumn('last_modified', 'text')
    .addColumn('checked_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema.dropTable('kb_source').execute();
}
