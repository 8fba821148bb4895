/** Deepest object/array nesting a webhook body may have; real provider payloads stay under 10. */
export const MAX_JSON_DEPTH = 64;

/**
 * True when raw JSON nests objects/arrays deeper than `max`, found by one byte scan (strings and
 * escapes skipped) before parsing: a deeply nested body would otherwise exhaust the stack in the
 * parser or the normalizer and turn a bad request into a 5xx the provider retries for days.
 */
export function jsonNestingExceeds(raw: Buffer, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}
