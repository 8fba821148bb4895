import { identifierClass, normalizeIdentifier, PERSON_IDENTIFIER_KINDS, shortHash, type PersonIdentifier } from '@switchboard/core';
import type { Database, Kysely, PeoplePersonTable, Selectable, Transaction } from '@switchboard/store';
import type { Person, PersonInput } from './person.schema.js';

/** Thrown when an identifier given for a person already belongs to another person of the account. */
export class IdentifierTakenError extends Error {
  readonly code = 'identifier_taken';
  constructor(
    readonly identifier: PersonIdentifier,
    readonly ownerId: string | undefined,
  ) {
    super(`the ${identifier.kind} is already linked to another person${ownerId ? ` (${ownerId})` : ''}`);
    this.name = 'IdentifierTakenError';
  }
}

/** Thrown for a list cursor the directory did not return. */
export class InvalidPeopleCursorError extends Error {
  constructor() {
    super('the cursor is not one this server returned');
    this.name = 'InvalidPeopleCursorError';
  }
}

/** Filters and page of {@link PeopleDirectory.list}. */
export interface PeopleQuery {
  readonly account?: string;
  readonly role?: string;
  /** A raw identifier (phone, username, id…): people with any identifier of that value. */
  readonly identifier?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** Where an entry came from. */
export type PersonSource = 'file' | 'api' | 'import' | 'verification';

type Db = Kysely<Database> | Transaction<Database>;

/** Every normalized form a raw value can take (any kind it is valid for). */
export function identifierForms(raw: string): PersonIdentifier[] {
  return PERSON_IDENTIFIER_KINDS.flatMap((kind) => {
    const value = normalizeIdentifier(kind, raw);
    return value === undefined ? [] : [{ kind, value }];
  });
}

/** A derived person id for entries given without one (CSV rows): stable for the same account and key. */
export function derivedPersonId(account: string, key: string): string {
  return `p_${shortHash(`${account}|${key}`, 20)}`;
}

const isUniqueViolation = (err: unknown): boolean => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';

/**
 * The directory of known people in the store: CRUD, keyset pages, look-up by identifiers, and
 * the links verification and erasure add and remove. Every write runs in one transaction; an
 * identifier of another person is refused ({@link IdentifierTakenError}), also under concurrency
 * (the identifier table's primary key).
 */
export class PeopleDirectory {
  constructor(private readonly db: Kysely<Database>) {}

  /** One person with their identifiers, or undefined. */
  async get(id: string): Promise<Person | undefined> {
    const row = await this.db.selectFrom('people_person').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return (await this.withIdentifiers(this.db, [row]))[0];
  }

  /** A page of people ordered by id; `next` is the cursor of the following page. */
  async list(q: PeopleQuery): Promise<{ items: Person[]; next?: string }> {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 200);
    let query = this.db.selectFrom('people_person').selectAll('people_person');
    if (q.account) query = query.where('people_person.account', '=', q.account);
    if (q.role) query = query.where('people_person.role', '=', q.role);
    if (q.identifier !== undefined) {
      const forms = identifierForms(q.identifier);
      if (forms.length === 0) return { items: [] };
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('people_identifier')
            .select('people_identifier.person_id')
            .whereRef('people_identifier.person_id', '=', 'people_person.id')
            .where((w) => w.or(forms.map((f) => w.and([w('people_identifier.kind_class', '=', identifierClass(f.kind)), w('people_identifier.value', '=', f.value)])))),
        ),
      );
    }
    if (q.cursor) query = query.where('people_person.id', '>', decodePeopleCursor(q.cursor));
    const rows = await query.orderBy('people_person.id').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    const items = await this.withIdentifiers(this.db, page);
    const last = page.at(-1);
    return { items, ...(rows.length > limit && last ? { next: Buffer.from(JSON.stringify([last.id]), 'utf8').toString('base64url') } : {}) };
  }

  /** Creates or replaces a person (identifiers replaced as a whole); `created` tells which. */
  async put(id: string, input: PersonInput, source: PersonSource = 'api'): Promise<{ person: Person; created: boolean }> {
    const created = await this.db.transaction().execute((trx) => this.putIn(trx, id, input, source));
    const person = await this.get(id);
    if (!person) throw new Error('person vanished after its write');
    return { person, created };
  }

  /**
   * Applies many entries in one transaction (an import or the file): all or nothing. A conflict
   * rejects with {@link IdentifierTakenError} and the index of the entry in `row`.
   */
  async putMany(entries: ReadonlyArray<{ id: string; input: PersonInput }>, source: PersonSource): Promise<{ created: number; updated: number }> {
    return this.db.transaction().execute(async (trx) => {
      let created = 0;
      for (const [index, e] of entries.entries()) {
        try {
          if (await this.putIn(trx, e.id, e.input, source)) created += 1;
        } catch (err) {
          if (err instanceof IdentifierTakenError) throw Object.assign(err, { row: index });
          throw err;
        }
      }
      return { created, updated: entries.length - created };
    });
  }

  /** Deletes a person (and their identifiers); false when there was none. */
  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('people_person').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Deletes the people of `source` whose id is not in `keep` (a file entry removed from the file). */
  async deleteMissing(source: PersonSource, keep: readonly string[]): Promise<number> {
    let q = this.db.deleteFrom('people_person').where('source', '=', source);
    if (keep.length > 0) q = q.where('id', 'not in', [...keep]);
    const res = await q.executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** The person of `account` any of `identifiers` belongs to (the first found), or undefined. */
  async findByIdentifiers(account: string, identifiers: readonly PersonIdentifier[]): Promise<Person | undefined> {
    if (identifiers.length === 0) return undefined;
    const hit = await this.db
      .selectFrom('people_identifier')
      .select('person_id')
      .where('account', '=', account)
      .where((w) => w.or(identifiers.map((i) => w.and([w('kind_class', '=', identifierClass(i.kind)), w('value', '=', i.value)]))))
      .limit(1)
      .executeTakeFirst();
    return hit ? this.get(hit.person_id) : undefined;
  }

  /**
   * Links `identifier` to the person of `account` the business knows as `externalId` (created with
   * `role` when there is none): the end of a successful verification. An identifier linked to
   * someone else before is moved (the business's system vouched for the new owner).
   */
  async linkVerified(account: string, identifier: PersonIdentifier, externalId: string, role: string, name?: string): Promise<Person> {
    const id = await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('people_person').select('id').where('account', '=', account).where('external_id', '=', externalId).orderBy('id').executeTakeFirst();
      const personId = existing?.id ?? derivedPersonId(account, `ext:${externalId}`);
      if (!existing) {
        await trx
          .insertInto('people_person')
          .values({ id: personId, account, role, external_id: externalId, name: name ?? null, language: null, attributes: '{}', source: 'verification' })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      }
      await trx
        .insertInto('people_identifier')
        .values({ account, kind: identifier.kind, kind_class: identifierClass(identifier.kind), value: identifier.value, person_id: personId })
        .onConflict((oc) => oc.columns(['account', 'kind_class', 'value']).doUpdateSet({ person_id: personId, kind: identifier.kind }))
        .execute();
      return personId;
    });
    const person = await this.get(id);
    if (!person) throw new Error('person vanished after its link');
    return person;
  }

  /** Removes the links of these identifiers in `account` (erasure of a customer); returns how many. */
  async unlink(account: string, identifiers: readonly PersonIdentifier[]): Promise<number> {
    if (identifiers.length === 0) return 0;
    const res = await this.db
      .deleteFrom('people_identifier')
      .where('account', '=', account)
      .where((w) => w.or(identifiers.map((i) => w.and([w('kind_class', '=', identifierClass(i.kind)), w('value', '=', i.value)]))))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Writes one person in `trx`; true when it was created. */
  private async putIn(trx: Db, id: string, input: PersonInput, source: PersonSource): Promise<boolean> {
    if (input.identifiers.length > 0) {
      const taken = await trx
        .selectFrom('people_identifier')
        .select(['person_id', 'kind', 'value'])
        .where('account', '=', input.account)
        .where('person_id', '!=', id)
        .where((w) => w.or(input.identifiers.map((i) => w.and([w('kind_class', '=', identifierClass(i.kind)), w('value', '=', i.value)]))))
        .executeTakeFirst();
      if (taken) {
        const identifier = input.identifiers.find((i) => identifierClass(i.kind) === identifierClass(taken.kind as PersonIdentifier['kind']) && i.value === taken.value) ?? input.identifiers[0]!;
        throw new IdentifierTakenError(identifier, taken.person_id);
      }
    }
    const values = {
      account: input.account,
      role: input.role,
      name: input.name ?? null,
      external_id: input.externalId ?? null,
      language: input.language ?? null,
      attributes: JSON.stringify(input.attributes),
      source,
    };
    const before = await trx.selectFrom('people_person').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
    if (before) await trx.updateTable('people_person').set({ ...values, updated_at: new Date() }).where('id', '=', id).execute();
    else await trx.insertInto('people_person').values({ id, ...values }).execute();
    await trx.deleteFrom('people_identifier').where('person_id', '=', id).execute();
    if (input.identifiers.length > 0) {
      try {
        await trx
          .insertInto('people_identifier')
          .values(input.identifiers.map((i) => ({ account: input.account, kind: i.kind, kind_class: identifierClass(i.kind), value: i.value, person_id: id })))
          .execute();
      } catch (err) {
        // another writer linked one of them between the check and the insert
        if (isUniqueViolation(err)) throw new IdentifierTakenError(input.identifiers[0]!, undefined);
        throw err;
      }
    }
    return !before;
  }

  private async withIdentifiers(db: Db, rows: ReadonlyArray<Selectable<PeoplePersonTable>>): Promise<Person[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const links = await db.selectFrom('people_identifier').select(['person_id', 'kind', 'value']).where('person_id', 'in', ids).orderBy('kind').orderBy('value').execute();
    return rows.map((r) => ({
      id: r.id,
      account: r.account,
      role: r.role,
      ...(r.name !== null ? { name: r.name } : {}),
      ...(r.external_id !== null ? { externalId: r.external_id } : {}),
      ...(r.language !== null ? { language: r.language } : {}),
      attributes: r.attributes,
      identifiers: links.filter((l) => l.person_id === r.id).map((l) => ({ kind: l.kind as PersonIdentifier['kind'], value: l.value })),
      source: r.source,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }
}

function decodePeopleCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 1 && typeof parsed[0] === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(parsed[0])) return parsed[0];
  } catch {
    // fall through
  }
  throw new InvalidPeopleCursorError();
}
