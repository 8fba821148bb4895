import { queryTerms } from '@switchboard/store';

/**
 * The tsquery of a conversation search: every word of the query must occur in one message (AND),
 * unlike knowledge search, which ranks by any term. Chinese, Japanese and Korean runs are matched
 * through their bigrams (the same terms the record stores, see `searchTerms`), so "退货期限" finds a
 * message containing 退货期限 and not every message containing 退; a single ideograph still
 * matches on its own.
 */

const CJK_CHAR = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]$/u;
const CJK_BIGRAM = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]{2}$/u;

const quote = (lexeme: string) => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** The AND tsquery literal of `query`, or undefined when it has no searchable term. */
export function allTermsQuery(query: string): string | undefined {
  const terms = queryTerms(query);
  // a bigram already requires its characters: their single ideographs would add nothing but lookups
  const bigrams = terms.filter((t) => CJK_BIGRAM.test(t));
  const chosen = terms.filter((t) => !CJK_CHAR.test(t) || !bigrams.some((b) => b.includes(t)));
  return chosen.length > 0 ? chosen.map(quote).join(' & ') : undefined;
}
