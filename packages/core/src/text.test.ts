import { fitParts, splitText, utf16Length, utf8Length } from './text';

describe('fitParts', () => {
  it('keeps chunks that fit the budget untouched', () => {
    expect(fitParts(['a', 'b'], 2, 10, utf16Length, '(cut)')).toEqual(['a', 'b']);
  });

  it('cuts the last kept part so it ends with the note within the limit', () => {
    const chunks = splitText('One sentence here. Two sentence here. Three sentence here. Four sentence here.', 20);
    const out = fitParts(chunks, 2, 20, utf16Length, '(cut)', ' ');
    expect(out).toHaveLength(2);
    expect(out[1]!.endsWith(' (cut)')).toBe(true);
    expect(out.every((p) => p.length <= 20)).toBe(true);
  });

  it('measures in the channel unit (UTF-8 bytes for WeChat)', () => {
    const chunks = splitText('你好。'.repeat(400), 100, utf8Length);
    const out = fitParts(chunks, 3, 100, utf8Length, '…', '');
    expect(out).toHaveLength(3);
    expect(out.every((p) => utf8Length(p) <= 100)).toBe(true);
    expect(out[2]!.endsWith('…')).toBe(true);
  });
});
