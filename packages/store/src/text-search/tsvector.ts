import { searchTerms, queryTerms } from './terms.js';

/**
 * tsvector and tsquery literals built from the knowledge terms, so PostgreSQL's parser never
 * re-splits them (it would treat a run of Han characters as one word). Lexemes are quoted with `'`
 * doubled; the literal is passed as a bound parameter and cast, never spliced into SQL.
 */

/** PostgreSQL keeps positions up to 16383; later occurrences share the last position. */
const MAX_POSITION = 16383;
/** Positions kept per lexeme (PostgreSQL keeps at most 256). */
const MAX_POSITIONS_PER_LEXEME = 256;

const quote = (lexeme: string) => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** The tsvector literal of a text: every term with its positions (term frequency for the ranking). */
export function tsvectorLiteral(text: string): string {
  const positions = new Map<string, number[]>();
  searchTerms(text).forEach((term, i) => {
    const list = positions.get(term) ?? [];
    if (list.length < MAX_POSITIONS_PER_LEXEME) list.push(Math.min(i + 1, MAX_POSITION));
    positions.set(term, list);
  });
  return [...positions.entries()].map(([term, pos]) => `${quote(term)}:${[...new Set(pos)].join(',')}`).join(' ');
}

/** The tsquery literal of a question: any of its terms (OR), or undefined when it has none. */
export function tsqueryLiteral(query: string): string | undefined {
  const terms = queryTerms(query);
  return terms.length > 0 ? terms.map(quote).join(' | ') : undefined;
}

/**
 * The tsquery literal of OR-ed clauses, each clause the AND of its terms (terms as {@link searchTerms}
 * makes them), or undefined when there is none: `[['a'], ['b', 'c']]` → `'a' | ('b' & 'c')`.
 */
export function tsqueryOfClauses(clauses: readonly (readonly string[])[]): string | undefined {
  const parts = clauses.filter((c) => c.length > 0).map((c) => (c.length === 1 ? quote(c[0]!) : `(${c.map(quote).join(' & ')})`));
  return parts.length > 0 ? parts.join(' | ') : undefined;
}
