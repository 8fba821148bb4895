/**
 * Opaque keyset cursors: a position `(at, id)` in an order, encoded as base64url JSON. `at` is
 * kept as PostgreSQL printed it (microseconds, UTC), never through a JS `Date` (milliseconds), so
 * a row whose timestamp has microseconds is neither repeated nor skipped across pages.
 */

/** A keyset position: the timestamp text (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) and the row id. */
export interface KeysetPosition {
  readonly at: string;
  readonly id: string;
}

const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Thrown for a cursor this module did not make (or that was altered). */
export class InvalidCursorError extends Error {
  constructor() {
    super('the cursor is not one this server returned');
    this.name = 'InvalidCursorError';
  }
}

/** Encodes a position as an opaque string. */
export function encodeCursor(pos: KeysetPosition): string {
  return Buffer.from(JSON.stringify([pos.at, pos.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor from {@link encodeCursor}; throws {@link InvalidCursorError} otherwise. */
export function decodeCursor(cursor: string): KeysetPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidCursorError();
  const [at, id] = parsed as unknown[];
  if (typeof at !== 'string' || !AT.test(at) || typeof id !== 'string' || id.length === 0 || id.length > 300) throw new InvalidCursorError();
  return { at, id };
}
