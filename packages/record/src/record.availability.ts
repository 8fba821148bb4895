/** SQLSTATE classes and codes that mean "the store is not there right now", not "the rows are wrong". */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '53400', '58000', '58030']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /connection error/i, /not queryable/i, /the database system is (starting up|shutting down)/i, /Connection ended/i];

/**
 * True when `err` says the store cannot be reached (refused, reset, shut down, too many
 * connections): the record role then holds its jobs and waits for the store instead of spending
 * their attempts. Anything else (a constraint, a bad value) is the batch's own fault.
 */
export function isStoreUnavailable(err: unknown): boolean {
  // duck-typed: errors of Node's own modules are not `instanceof Error` in every realm (test VMs)
  if (typeof err !== 'object' || err === null) return false;
  const { code, message, errors } = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_CODES.has(code) || NETWORK_CODES.has(code))) return true;
  if (Array.isArray(errors) && errors.some(isStoreUnavailable)) return true;
  return typeof message === 'string' && MESSAGES.some((m) => m.test(message));
}
