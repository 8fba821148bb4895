import { z } from 'zod';
import { normalizeIdentifier, PERSON_IDENTIFIER_KINDS, PersonIdentifierKind, type PersonIdentifier } from '@switchboard/core';

/** A person id: 1-64 letters, digits, `_` or `-` (given by the caller, or derived for imports). */
export const PersonId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

/** A role name (`guest`, `customer`, `vip`, `staff`, `admin`, or one of the agent config's `roles`). */
export const RoleName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be 1-32 lower-case letters, digits, _ or - (starting with a letter)');

/** A gateway account id (`default` = the channels' environment variables). */
export const AccountId = z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be an account id ([a-z0-9-]{1,40})');

/** One identifier as written by a caller: normalized on parse, refused when it is not one. */
export const IdentifierInput = z
  .strictObject({ kind: PersonIdentifierKind, value: z.string().min(1).max(200) })
  .transform((i, ctx): PersonIdentifier => {
    const value = normalizeIdentifier(i.kind, i.value);
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${i.value.slice(0, 40)}" is not a valid ${i.kind}` });
      return z.NEVER;
    }
    return { kind: i.kind, value };
  });

const Attributes = z.record(z.string().min(1).max(64), z.unknown()).refine((a) => Object.keys(a).length <= 50 && JSON.stringify(a).length <= 8000, 'at most 50 attributes and 8000 characters');

/** What a person is made of, as the API (`PUT /api/v1/people/:id`), the file and the import give it. */
export const PersonInput = z
  .strictObject({
    account: AccountId.default('default'),
    role: RoleName,
    name: z.string().trim().min(1).max(200).optional(),
    /** The person's id in the business's own systems. */
    externalId: z.string().trim().min(1).max(200).optional(),
    language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a language tag such as en or pt-BR').optional(),
    attributes: Attributes.default({}),
    identifiers: z.array(IdentifierInput).max(20).default([]),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const i of p.identifiers) {
      const key = `${i.kind === 'wa_id' ? 'phone' : i.kind}:${i.value}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['identifiers'], message: `identifier ${i.kind} given twice` });
      seen.add(key);
    }
  });
export type PersonInput = z.output<typeof PersonInput>;

/** Shorthand keys the file and the CSV accept besides `identifiers` (one identifier each, or a list). */
export const IDENTIFIER_SHORTHANDS = PERSON_IDENTIFIER_KINDS;

/** A person as the directory returns it. */
export interface Person {
  readonly id: string;
  readonly account: string;
  readonly role: string;
  readonly name?: string;
  readonly externalId?: string;
  readonly language?: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly identifiers: readonly PersonIdentifier[];
  /** `file`, `api`, `import` or `verification`. */
  readonly source: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The zod issues of a failed parse as short lines (`path: message`). */
export function issueLines(error: z.ZodError): string[] {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
}
