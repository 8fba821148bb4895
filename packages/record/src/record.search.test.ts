import { allTermsQuery } from './record.search';

describe('allTermsQuery', () => {
  it('requires every English word (lowercased, stop words dropped)', () => {
    expect(allTermsQuery('Where is my PARCEL?')).toBe("'my' & 'parcel'");
    expect(allTermsQuery('refund lamp')).toBe("'refund' & 'lamp'");
  });

  it('matches a Chinese run through its bigrams, a single ideograph on its own', () => {
    expect(allTermsQuery('退货期限')).toBe("'退货' & '货期' & '期限'");
    expect(allTermsQuery('退')).toBe("'退'");
    expect(allTermsQuery('退货 30天')).toBe("'退货' & '30' & '天'");
  });

  it('quotes lexemes so the query is never re-parsed, and has nothing to search for in punctuation', () => {
    expect(allTermsQuery("don't")).toBe("'don''t'");
    expect(allTermsQuery('?! …')).toBeUndefined();
  });
});
