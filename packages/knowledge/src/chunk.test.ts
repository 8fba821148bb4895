import { chunkDocument, weightedLength } from './chunk';

const para = (n: number, word = 'lorem') => Array.from({ length: n }, (_, i) => `${word} ${i} sentence here.`).join(' ');

describe('chunkDocument', () => {
  it('follows sections: a chunk never spans two headings and carries its heading path', () => {
    const text = ['# Returns', 'You can return items within 30 days.', '## Germany', 'Returns from Germany are free.', '# Shipping', 'We ship worldwide.'].join('\n\n');
    expect(chunkDocument(text)).toEqual([
      { index: 0, heading: 'Returns', text: 'You can return items within 30 days.' },
      { index: 1, heading: 'Returns › Germany', text: 'Returns from Germany are free.' },
      { index: 2, heading: 'Shipping', text: 'We ship worldwide.' },
    ]);
  });

  it('splits a long section at sentences under the size limit, overlapping the previous chunk', () => {
    const chunks = chunkDocument(`# Policy\n\n${para(80)}`, { maxChars: 400, overlap: 100 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(weightedLength(c.text)).toBeLessThanOrEqual(400);
      expect(c.heading).toBe('Policy');
    }
    // the overlap: each chunk starts with the last sentence(s) of the one before
    for (let i = 1; i < chunks.length; i++) {
      const carried = chunks[i]!.text.split('\n\n')[0]!;
      expect(weightedLength(carried)).toBeLessThanOrEqual(100);
      expect(chunks[i - 1]!.text.endsWith(carried)).toBe(true);
    }
    // nothing lost: every sentence is in some chunk
    for (let i = 0; i < 80; i++) expect(chunks.some((c) => c.text.includes(`lorem ${i} sentence here.`))).toBe(true);
  });

  it('keeps a table whole when it fits, and splits a big one by rows repeating its header', () => {
    const small = '| size | price |\n|---|---|\n| S | 10 |\n| M | 12 |';
    expect(chunkDocument(`# Sizes\n\nIntro.\n\n${small}`)[0]!.text).toContain(small);
    const rows = Array.from({ length: 60 }, (_, i) => `| item ${i} | ${i * 3} EUR |`).join('\n');
    const chunks = chunkDocument(`| item | price |\n|---|---|\n${rows}`, { maxChars: 300, overlap: 0 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c.text.startsWith('| item | price |\n|---|---|')).toBe(true);
    for (let i = 0; i < 60; i++) expect(chunks.filter((c) => c.text.includes(`| item ${i} |`))).toHaveLength(1);
  });

  it('sizes Chinese by weight: fewer characters per chunk, split at 。', () => {
    const zh = Array.from({ length: 60 }, (_, i) => `这是第${i}条关于退货的说明。`).join('');
    const chunks = chunkDocument(`# 退货政策\n\n${zh}`, { maxChars: 300, overlap: 0 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(weightedLength(c.text)).toBeLessThanOrEqual(300);
      expect(c.text.endsWith('。')).toBe(true);
      expect(c.heading).toBe('退货政策');
    }
  });

  it('cuts a wall of text without sentence marks, and keeps lists together', () => {
    const wall = 'x'.repeat(3000);
    const chunks = chunkDocument(wall, { maxChars: 500, overlap: 0 });
    expect(chunks.map((c) => c.text).join('')).toBe(wall);
    const list = '- one\n- two\n  continued\n- three';
    expect(chunkDocument(`Intro\n\n${list}`)[0]!.text).toBe(`Intro\n\n${list}`);
  });

  it('is deterministic and gives nothing for empty text', () => {
    const text = `# A\n\n${para(50)}\n\n# B\n\n${para(10, 'ipsum')}`;
    expect(chunkDocument(text)).toEqual(chunkDocument(text));
    expect(chunkDocument('  \n\n ')).toEqual([]);
  });
});
