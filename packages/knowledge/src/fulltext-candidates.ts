/**
 * Bounded full-text ranking on a large knowledge base. A question's OR query over common terms
 * ("days", "return", CJK characters) matches most chunks of a large base, and ranking reads every
 * match's tsvector (about 1 s per 100,000 chunks here). When the store's statistics estimate more
 * matches than {@link RANK_BUDGET}, only a candidate set the GIN index finds is ranked: chunks with
 * any rare term of the question, or with at least `m` of its five rarest common terms (the smallest
 * `m` whose estimate fits the budget). The ranking itself is unchanged (ts_rank_cd of the whole
 * question), so a base small enough for the budget ranks exactly as before; on a large one a chunk is
 * left out only when it shares no rare term and few common ones with the question. A question whose
 * every term is in most chunks ("and for Austria?" when nearly every chunk names Austria) has no
 * such set: then every chunk with a rare term and only the first budget's worth of the common
 * clauses' matches (as the index yields them) are ranked.
 */

/** Estimated matching chunks up to which every match is ranked. */
export const RANK_BUDGET = 2_000;
/**
 * Common terms combined into "at least m of them" clauses (C(5, 2) = 10 clauses at most: GIN checks
 * every chunk with any of them against the whole clause tree, so more clauses cost more than they find).
 */
const MAX_COMMON_TERMS = 5;

/** What the store's statistics say about the chunks' terms (ANALYZE: most common elements of `terms`). */
export interface TermStatistics {
  /** Chunks in the table (estimate). */
  readonly rows: number;
  /** Fraction of chunks containing each of the most common terms. */
  readonly frequency: ReadonlyMap<string, number>;
  /** Fraction assumed for a term not among them (the least common one's). */
  readonly floor: number;
}

const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+$/u;

/** Probability that at least `m` of independent events with probabilities `ps` happen. */
function atLeast(ps: readonly number[], m: number): number {
  // dp[k] = P(exactly k so far)
  let dp = [1];
  for (const p of ps) {
    const next = new Array<number>(dp.length + 1).fill(0);
    dp.forEach((q, k) => {
      next[k]! += q * (1 - p);
      next[k + 1]! += q * p;
    });
    dp = next;
  }
  return dp.slice(m).reduce((a, b) => a + b, 0);
}

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, size - 1).map((s) => [first!, ...s]), ...subsets(rest, size)];
}

/** The candidate set of a question on a large base. */
export interface Candidates {
  /** Rare terms: every chunk with any of them is a candidate. */
  readonly rare: string[];
  /** Clauses over the common terms (OR of ANDs of terms): chunks with at least `m` of them. */
  readonly common: string[][];
  /** Estimated chunks matching `common`. */
  readonly commonEstimate: number;
}

/**
 * The candidates for the question's distinct `terms`, or undefined when every match fits the budget
 * (or nothing is known about the terms): then all matches are ranked.
 */
export function candidateClauses(terms: readonly string[], stats: TermStatistics | undefined, budget = RANK_BUDGET): Candidates | undefined {
  if (!stats || stats.rows <= budget || terms.length === 0) return undefined;
  // PostgreSQL's own estimate for a term that is not among the most common ones: half the least common one's
  const f = (t: string) => Math.min(1, stats.frequency.get(t) ?? stats.floor / 2);
  if (stats.rows * atLeast(terms.map(f), 1) <= budget) return undefined;
  // a CJK character inside one of the question's bigrams is found through the bigram; it still counts in the ranking
  const bigrams = terms.filter((t) => CJK.test(t) && Array.from(t).length === 2);
  const coveredChar = (t: string) => CJK.test(t) && Array.from(t).length === 1 && bigrams.some((b) => b.includes(t));
  const pool = terms.filter((t) => !(coveredChar(t) && stats.rows * f(t) > budget / 4)).sort((a, b) => f(a) - f(b) || (a < b ? -1 : 1));
  // rare terms, rarest first, while their matches stay within half the budget
  const rare: string[] = [];
  while (pool.length > 0 && stats.rows * atLeast([...rare, pool[0]!].map(f), 1) <= budget / 2) rare.push(pool.shift()!);
  const common = pool.slice(0, MAX_COMMON_TERMS);
  if (common.length === 0) return { rare, common: [], commonEstimate: 0 };
  // chunks with at least m of the (rarest) common terms: the smallest m within the other half
  const ps = common.map(f);
  let m = 1;
  while (m < common.length && stats.rows * atLeast(ps, m) > budget / 2) m += 1;
  return { rare, common: subsets(common, m), commonEstimate: stats.rows * atLeast(ps, m) };
}
