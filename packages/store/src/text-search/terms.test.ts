import { queryTerms, searchTerms } from './terms';

describe('searchTerms', () => {
  it('lowercases words, drops stop words and one-letter words, keeps numbers', () => {
    expect(searchTerms('What is the Return window for a 7 day order?')).toEqual(['return', 'window', '7', 'day', 'order']);
  });

  it('splits Chinese into characters and bigrams, so a query finds a longer phrase', () => {
    expect(searchTerms('退货期限')).toEqual(['退', '退货', '货', '货期', '期', '期限', '限']);
    const doc = new Set(searchTerms('我们的退货期限为30天。'));
    for (const t of queryTerms('退货期限是多久')) if (!['是', '是多', '多', '多久', '久', '限是'].includes(t)) expect(doc.has(t)).toBe(true);
  });

  it('handles mixed text and full-width forms (NFKC)', () => {
    expect(searchTerms('iPhone15手机壳 ＡＢＣ')).toEqual(['iphone15', '手', '手机', '机', '机壳', '壳', 'abc']);
  });

  it('a query of stop words still searches for something', () => {
    expect(queryTerms('how are you')).toEqual(['how', 'are', 'you']);
    expect(queryTerms('Shipping shipping to Germany')).toEqual(['shipping', 'germany']);
  });

  it('ignores very long tokens and bounds the number of terms', () => {
    expect(searchTerms(`x ${'a'.repeat(200)} ok`)).toEqual(['ok']);
    expect(searchTerms('word '.repeat(10_000)).length).toBe(4000);
  });
});
