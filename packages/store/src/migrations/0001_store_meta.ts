import { sql, type Kysely } from 'kysely';

// Migrations are frozen once released: change the schema with a new file, never by editing one.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('store_meta')
    .addColumn('id', 'smallint', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('schema_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.insertInto('store_meta').values({ id: 1, schema_version: 1 }).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('store_meta').execute();
}
