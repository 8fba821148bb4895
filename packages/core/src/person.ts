import { z } from 'zod';

/**
 * Known people: the identifiers a directory entry can be found by, how each is normalized, and
 * the structured person a turn's tools receive. Shared by the directory (`@switchboard/people`),
 * the agent (roles, tool context) and the channels (which identifier kind their customer id is).
 */

/** The kinds of identifier a person can be found by. */
export const PERSON_IDENTIFIER_KINDS = ['phone', 'wa_id', 'username', 'wechat_external_userid', 'telegram_id'] as const;
export const PersonIdentifierKind = z.enum(PERSON_IDENTIFIER_KINDS);
export type PersonIdentifierKind = z.infer<typeof PersonIdentifierKind>;

/** One identifier of a person, normalized ({@link normalizeIdentifier}). */
export interface PersonIdentifier {
  readonly kind: PersonIdentifierKind;
  readonly value: string;
}

/**
 * Identifier kinds that name the same thing: a WhatsApp wa_id is the phone number's E.164 digits,
 * so a `phone` entry matches a `wa_id` and the other way round (and one number belongs to one person).
 */
export function identifierClass(kind: PersonIdentifierKind): string {
  return kind === 'wa_id' ? 'phone' : kind;
}

/**
 * The normalized form of an identifier, or undefined when it is not one:
 * - `phone`, `wa_id`: E.164 digits without `+`, spaces, dashes, dots or parentheses (`00` prefix dropped), 6-15 digits;
 * - `username`: lower case, without a leading `@`, 1-64 of `[a-z0-9_.]`;
 * - `telegram_id`: a (possibly negative) integer;
 * - `wechat_external_userid`: kept as given (trimmed), 1-128 printable characters.
 */
export function normalizeIdentifier(kind: PersonIdentifierKind, raw: string): string | undefined {
  const value = raw.trim();
  switch (kind) {
    case 'phone':
    case 'wa_id': {
      if (!/^\+?[0-9 ().-]+$/.test(value)) return undefined;
      let digits = value.replace(/[^0-9]/g, '');
      if (!value.startsWith('+') && digits.startsWith('00')) digits = digits.slice(2);
      return /^[1-9][0-9]{5,14}$/.test(digits) ? digits : undefined;
    }
    case 'username': {
      const name = value.replace(/^@/, '').toLowerCase();
      return /^[a-z0-9_.]{1,64}$/.test(name) ? name : undefined;
    }
    case 'telegram_id':
      return /^-?[0-9]{1,20}$/.test(value) ? value : undefined;
    case 'wechat_external_userid':
      return /^[\x21-\x7e]{1,128}$/.test(value) ? value : undefined;
  }
}

/**
 * The person a turn is about, as the gateway resolved it from the directory (never from the
 * message text). Tools receive it as structured context; the prompt never carries it as text the
 * customer could imitate.
 */
export interface PersonContext {
  /** The directory id; absent for an unknown sender (role = the default role). */
  readonly id?: string;
  readonly role: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** True when the person is in the directory (config, API, import) or passed a verification. */
  readonly verified: boolean;
  readonly name?: string;
  /** The person's id in the business's own systems. */
  readonly externalId?: string;
  readonly language?: string;
}
