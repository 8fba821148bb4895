import { jsonNestingExceeds } from './json-depth';

describe('jsonNestingExceeds', () => {
  it('accepts ordinary payloads and counts brackets inside strings as text', () => {
    expect(jsonNestingExceeds(Buffer.from('{"a":[{"b":{"c":1}}],"s":"[[[[{{{{\\"]]]"}'), 4)).toBe(false);
  });
  it('flags nesting deeper than the limit', () => {
    expect(jsonNestingExceeds(Buffer.from('['.repeat(65) + ']'.repeat(65)))).toBe(true);
    expect(jsonNestingExceeds(Buffer.from('['.repeat(64) + ']'.repeat(64)))).toBe(false);
    expect(jsonNestingExceeds(Buffer.from('{"a":'.repeat(50000) + '1' + '}'.repeat(50000)))).toBe(true);
  });
});
