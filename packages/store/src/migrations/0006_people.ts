import { sql, type Kysely } from 'kysely';

// Migrations are frozen once released: change the schema with a new file, never by editing one.

/**
 * Known people per gateway account (`@switchboard/people`):
 * - `people_person`: one person of an account with a role, a name, the id the business's own
 *   systems know them by, a language and free attributes; `source` tells where the entry came
 *   from (`file`, `api`, `import`, `verification`).
 * - `people_identifier`: the phone numbers, wa_ids, usernames, WeChat external_userids and Telegram
 *   ids a person is recognised by, normalized; one identifier belongs to at most one person of an
 *   account (`phone` and `wa_id` share a class: a wa_id is the phone number's digits).
 */
export async function up(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema
    .createTable('people_person')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('external_id', 'text')
    .addColumn('language', 'text')
    .addColumn('attributes', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('api'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('people_person_account_role').on('people_person').columns(['account', 'role', 'id']).execute();
  await db.schema.createIndex('people_person_account_id').on('people_person').columns(['account', 'id']).execute();
  await db.schema.createIndex('people_person_external').on('people_person').columns(['account', 'external_id']).execute();

  await db.schema
    .createTable('people_identifier')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('phone', 'wa_id', 'username', 'wechat_external_userid', 'telegram_id')`))
    .addColumn('kind_class', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull().references('people_person.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('people_identifier_pk', ['account', 'kind_class', 'value'])
    .execute();
  await db.schema.createIndex('people_identifier_person').on('people_identifier').column('person_id').execute();
}

export async function down(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema.dropTable('people_identifier').execute();
  await db.schema.dropTable('people_person').execute();
}
