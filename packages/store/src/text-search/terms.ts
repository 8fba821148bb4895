/**
 * Search terms for full-text ranking in English, Chinese and mixed text. PostgreSQL's own parsers
 * do not segment Chinese (a run of Han characters is one "word"), so terms are made here and stored
 * as a `simple` tsvector: Latin, Cyrillic, Greek… words are lowercased (NFKC, accents kept); every
 * run of CJK ideographs, kana or hangul becomes its single characters and its overlapping bigrams.
 * A query goes through the same function, so "退货期限" finds "退货期限为30天" through 退货, 货期, 期限.
 */

/** Han, kana, hangul and CJK punctuation-free symbols: scripts written without spaces. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** Letters and digits of any script, plus `'` and `-` inside words. */
const TOKEN = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

/** English words too common to rank by (a short list: the rest is left to the ranking). */
const STOP = new Set(
  'a an and are as at be but by for from has have how i if in is it its of on or our so that the their them they this to was we what when where which who why will with you your'.split(' '),
);

/** Most terms taken from one text (a long document's chunk stays well under PostgreSQL's tsvector limits). */
const MAX_TERMS = 4000;
/** Longer "words" (base64, hashes) are not useful terms. */
const MAX_WORD = 40;

function cjkTerms(run: string, out: string[]): void {
  const chars = Array.from(run);
  for (let i = 0; i < chars.length; i++) {
    out.push(chars[i]!);
    if (i + 1 < chars.length) out.push(chars[i]! + chars[i + 1]!);
  }
}

/**
 * The search terms of `text`, in order, with repeats (term frequency counts in the ranking).
 * Words of two letters or more, numbers of any length, CJK unigrams and bigrams.
 */
export function searchTerms(text: string, opts: { readonly keepStopWords?: boolean } = {}): string[] {
  const out: string[] = [];
  const normalized = text.normalize('NFKC').toLowerCase();
  for (const match of normalized.matchAll(TOKEN)) {
    const token = match[0];
    // a token may mix scripts ("iphone15手机壳"): split it into CJK runs and the rest
    for (const part of token.split(/([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+)/u)) {
      if (!part) continue;
      if (CJK.test(part)) cjkTerms(part, out);
      else if (part.length <= MAX_WORD && (part.length > 1 || /\p{N}/u.test(part)) && (opts.keepStopWords || !STOP.has(part))) out.push(part.replace(/’/g, "'"));
      if (out.length >= MAX_TERMS) return out.slice(0, MAX_TERMS);
    }
  }
  return out;
}

/** The distinct terms of a query (order kept), for an OR query and for highlighting. */
export function queryTerms(query: string): string[] {
  const terms = searchTerms(query);
  // a query made only of stop words ("how are you") still needs something to search for
  const chosen = terms.length > 0 ? terms : searchTerms(query, { keepStopWords: true });
  return [...new Set(chosen)];
}
