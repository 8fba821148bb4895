import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { PERSON_IDENTIFIER_KINDS } from '@switchboard/core';
import { AccountId, CsvSyntaxError, IdentifierTakenError, InvalidPeopleCursorError, PersonId, PersonInput, peopleFromCsv, RoleName, type PeopleDirectory, type Person } from '@switchboard/people';
import { ApiError, parseOr400 as parse, withoutEmptyValues } from './api.js';
import type { PersonView } from './responses.js';

/**
 * The directory of known people (mounted at `/api/v1/people` behind the API keys, scope
 * `people`): list with filters, read, create or replace, delete, and a CSV import. Workers see a
 * change within their cache TTL (`PEOPLE_CACHE_TTL_MS`).
 */

/** What the people routes need; `directory` undefined = no store (`DATABASE_URL` unset) → 503. */
export interface PeopleRoutesDeps {
  directory: PeopleDirectory | undefined;
}

/** Largest CSV import accepted (bigger → 413). */
export const PEOPLE_IMPORT_MAX_BYTES = 2 * 1024 * 1024;

export const PeopleListQuery = z
  .object({
    account: AccountId.optional(),
    role: RoleName.optional(),
    identifier: z.string().trim().min(1).max(200).optional().meta({ description: 'a phone number, wa_id, username, WeChat external_userid or Telegram id, in any usual spelling' }),
    limit: z.coerce.number().int().min(1).max(200).optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict();
export const PersonIdParams = z.object({ id: PersonId });
export const PersonBody = PersonInput;
export const PeopleImportQuery = z.object({ account: AccountId.optional().meta({ description: 'the account of rows without an `account` column value (default `default`)' }) }).strict();
export const PeopleCsv = z.string().meta({
  description: `CSV with a header row. Columns: role (required), id, account, name, externalId, language, ${PERSON_IDENTIFIER_KINDS.join(', ')} (several values separated by ";"), attr.<key>.`,
});

/** A person as the API shows it. */
export function personView(p: Person): PersonView {
  return {
    id: p.id,
    account: p.account,
    role: p.role,
    ...(p.name ? { name: p.name } : {}),
    ...(p.externalId ? { externalId: p.externalId } : {}),
    ...(p.language ? { language: p.language } : {}),
    attributes: { ...p.attributes },
    identifiers: p.identifiers.map((i) => ({ kind: i.kind, value: i.value })),
    source: p.source,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

const taken = (err: IdentifierTakenError, row?: number) =>
  new ApiError(409, 'identifier_taken', `${row !== undefined ? `row ${row}: ` : ''}the ${err.identifier.kind} ${err.identifier.value} belongs to another person${err.ownerId ? ` (${err.ownerId})` : ''}`);

export function peopleRouter(deps: PeopleRoutesDeps): Router {
  const r = express.Router();
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
  const directory = (): PeopleDirectory => {
    if (!deps.directory) throw new ApiError(503, 'store_unavailable', 'the directory of people needs the store: set DATABASE_URL (pnpm start provides an embedded one)');
    return deps.directory;
  };

  r.get(
    '/',
    wrap(async (req, res) => {
      const q = parse(PeopleListQuery, withoutEmptyValues(req.query as Record<string, unknown>), 'query');
      try {
        const page = await directory().list(q);
        res.set('Cache-Control', 'no-store').json({ items: page.items.map(personView), ...(page.next ? { next: page.next } : {}) });
      } catch (err) {
        if (err instanceof InvalidPeopleCursorError) throw new ApiError(400, 'invalid_request', 'cursor: not one this server returned');
        throw err;
      }
    }),
  );

  r.post(
    '/import',
    express.text({ type: ['text/csv', 'application/csv'], limit: PEOPLE_IMPORT_MAX_BYTES }),
    wrap(async (req, res) => {
      if (!req.is(['text/csv', 'application/csv'])) throw new ApiError(415, 'unsupported_format', 'send the CSV as Content-Type: text/csv');
      const { account } = parse(PeopleImportQuery, withoutEmptyValues(req.query as Record<string, unknown>), 'query');
      const text = typeof req.body === 'string' ? req.body : '';
      let parsed: ReturnType<typeof peopleFromCsv>;
      try {
        parsed = peopleFromCsv(text, account ?? 'default');
      } catch (err) {
        if (err instanceof CsvSyntaxError) throw new ApiError(422, 'invalid_rows', err.message, { details: [{ path: `row.${err.row}`, message: err.message, code: 'csv_syntax' }] });
        throw err;
      }
      if (parsed.errors.length) {
        const details = parsed.errors.flatMap((e) => e.problems.map((message) => ({ path: `row.${e.row}`, message, code: 'invalid_row' })));
        throw new ApiError(422, 'invalid_rows', `${parsed.errors.length} row(s) refused, nothing imported: ${parsed.errors.slice(0, 5).map((e) => `row ${e.row}: ${e.problems.join('; ')}`).join(' | ')}`, { details: details.slice(0, 500) });
      }
      if (parsed.entries.length === 0) throw new ApiError(422, 'invalid_rows', 'the file has a header but no rows');
      try {
        const done = await directory().putMany(parsed.entries, 'import');
        res.set('Cache-Control', 'no-store').json({ imported: parsed.entries.length, created: done.created, updated: done.updated });
      } catch (err) {
        if (err instanceof IdentifierTakenError) throw taken(err, parsed.entries[(err as IdentifierTakenError & { row?: number }).row ?? -1]?.row);
        throw err;
      }
    }),
  );

  r.get(
    '/:id',
    wrap(async (req, res) => {
      const { id } = parse(PersonIdParams, req.params);
      const person = await directory().get(id);
      if (!person) throw new ApiError(404, 'not_found', 'no such person');
      res.set('Cache-Control', 'no-store').json(personView(person));
    }),
  );

  r.put(
    '/:id',
    express.json({ limit: '64kb' }),
    wrap(async (req, res) => {
      const { id } = parse(PersonIdParams, req.params);
      const body = parse(PersonBody, req.body);
      try {
        const { person, created } = await directory().put(id, body, 'api');
        res.status(created ? 201 : 200).set('Cache-Control', 'no-store').json(personView(person));
      } catch (err) {
        if (err instanceof IdentifierTakenError) throw taken(err);
        throw err;
      }
    }),
  );

  r.delete(
    '/:id',
    wrap(async (req, res) => {
      const { id } = parse(PersonIdParams, req.params);
      if (!(await directory().delete(id))) throw new ApiError(404, 'not_found', 'no such person');
      res.status(204).set('Cache-Control', 'no-store').end();
    }),
  );
  return r;
}
