import { candidateClauses, RANK_BUDGET, type TermStatistics } from './fulltext-candidates';

const stats = (rows: number, frequency: Record<string, number>, floor = 0.01): TermStatistics => ({ rows, frequency: new Map(Object.entries(frequency)), floor });

describe('candidateClauses', () => {
  it('ranks every match when the estimate fits the budget, the base is small, or nothing is known', () => {
    expect(candidateClauses(['return', 'days'], undefined)).toBeUndefined();
    expect(candidateClauses(['return', 'days'], stats(RANK_BUDGET, { return: 0.9, days: 0.9 }))).toBeUndefined();
    // 100,000 chunks, terms in 0.5 % and 0.4 % of them: about 900 matches
    expect(candidateClauses(['klarna', 'invoice'], stats(100_000, { klarna: 0.005, invoice: 0.004 }))).toBeUndefined();
  });

  it('keeps rare terms alone and asks for at least m of the common ones', () => {
    const s = stats(100_000, { days: 0.5, return: 0.38, do: 0.29, item: 0.23 });
    // "many" is not among the most common terms: rare (half the floor: about 500 chunks)
    const c = candidateClauses(['many', 'days', 'do', 'return', 'item'], s)!;
    expect(c.rare).toEqual(['many']);
    // P(at least 3 of 4) ≈ 14 % > 1,000 rows; all 4 ≈ 1.3 %
    expect(c.common).toEqual([['item', 'do', 'return', 'days']]);
    expect(c.commonEstimate).toBeLessThan(RANK_BUDGET);
  });

  it('chooses the smallest m within half the budget', () => {
    const s = stats(100_000, { a1: 0.05, a2: 0.05, a3: 0.05, a4: 0.05 });
    const c = candidateClauses(['a1', 'a2', 'a3', 'a4'], s)!;
    // at least 2 of 4 at 5 % each ≈ 1.4 % = 1,400 rows > 1,000; at least 3 ≈ 0.05 %
    expect(c.rare).toEqual([]);
    expect(c.common.every((cl) => cl.length === 3)).toBe(true);
    expect(c.common).toHaveLength(4);
  });

  it('finds a CJK character through the question’s bigram that contains it, and bounds the common terms to five', () => {
    const freq: Record<string, number> = { 退: 0.3, 货: 0.3, 期: 0.3, 限: 0.3, 退货: 0.05, 货期: 0.04, 期限: 0.06 };
    const c = candidateClauses(['退', '退货', '货', '货期', '期', '期限', '限'], stats(100_000, freq))!;
    const used = new Set([...c.rare, ...c.common.flat()]);
    expect([...used].sort()).toEqual(['期限', '货期', '退货'].sort());
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`w${i}`, 0.3 + i / 100]));
    const d = candidateClauses(Object.keys(many), stats(100_000, many))!;
    expect(d.rare).toEqual([]);
    expect(new Set(d.common.flat())).toEqual(new Set(['w0', 'w1', 'w2', 'w3', 'w4']));
  });

  it('a question whose only term is in most chunks has no smaller candidate set: the estimate says so', () => {
    const c = candidateClauses(['austria'], stats(100_000, { austria: 0.16 }))!;
    expect(c).toMatchObject({ rare: [], common: [['austria']] });
    expect(c.commonEstimate).toBeGreaterThan(RANK_BUDGET);
  });
});
