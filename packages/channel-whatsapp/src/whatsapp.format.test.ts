import { markdownToWhatsApp, splitForWhatsApp } from './whatsapp.format';
import { renderForWhatsApp } from './whatsapp.outbound';

describe('markdownToWhatsApp', () => {
  it.each([
    ['**bold**', '*bold*'],
    ['__bold__', '*bold*'],
    ['*italic*', '_italic_'],
    ['_italic_', '_italic_'],
    ['~~gone~~', '~gone~'],
    ['# Title', '*Title*'],
    ['### Sub **x**', '*Sub *x**'],
    ['see [docs](https://x.io/a)', 'see docs (https://x.io/a)'],
    ['[https://x.io](https://x.io)', 'https://x.io'],
    ['* one\n+ two\n- three', '- one\n- two\n- three'],
    ['1. first\n2. second', '1. first\n2. second'],
    ['> quoted', '> quoted'],
    ['use `a*b*c` here', 'use `a*b*c` here'],
    ['snake_case_name stays', 'snake_case_name stays'],
    ['2 * 3 * 4', '2 * 3 * 4'],
  ])('%j → %j', (input, expected) => {
    expect(markdownToWhatsApp(input)).toBe(expected);
  });

  it('keeps code fences verbatim (language tag dropped)', () => {
    expect(markdownToWhatsApp('```js\nconst a = **b**;\n```')).toBe('```\nconst a = **b**;\n```');
  });

  it('flattens tables', () => {
    expect(markdownToWhatsApp('| Item | Qty |\n|---|---:|\n| Tea | 2 |')).toBe('Item — Qty\nTea — 2');
  });
});

describe('splitForWhatsApp', () => {
  it('leaves short text alone', () => {
    expect(splitForWhatsApp('hello')).toEqual(['hello']);
  });

  it('splits 9,000 characters into ordered parts of at most 4096 on sentence boundaries', () => {
    const sentence = 'This is sentence number NNN of a long answer. ';
    let text = '';
    for (let i = 0; text.length < 9000; i++) text += sentence.replace('NNN', String(i));
    const parts = splitForWhatsApp(text.trim());
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(p.endsWith('.')).toBe(true);
    }
    expect(parts.join(' ')).toBe(text.trim());
  });

  it('prefers paragraph boundaries', () => {
    const para = 'a'.repeat(3000);
    expect(splitForWhatsApp(`${para}\n\n${para}`)).toEqual([para, para]);
  });

  it('never cuts inside a code fence; re-fences an oversized one', () => {
    const code = '```\n' + Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(10)}`).join('\n') + '\n```';
    const parts = splitForWhatsApp(`Intro\n\n${code}\n\nOutro`);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect((p.match(/```/g) ?? []).length % 2).toBe(0);
    }
  });

  it('never splits a surrogate pair', () => {
    const text = '👋'.repeat(3000);
    const parts = splitForWhatsApp(text);
    expect(parts.join('')).toBe(text);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4096);
  });

  it('is deterministic', () => {
    const text = 'Sentence. '.repeat(1200);
    expect(splitForWhatsApp(text)).toEqual(splitForWhatsApp(text));
  });
});

describe('renderForWhatsApp', () => {
  it('turns up to 3 short options into reply buttons with the text as body', () => {
    const parts = renderForWhatsApp({ text: 'Pick one', options: [{ id: 'a', title: 'Yes' }, { id: 'b', title: 'No' }] });
    expect(parts).toEqual([{ kind: 'options', text: 'Pick one', options: [{ id: 'a', title: 'Yes' }, { id: 'b', title: 'No' }] }]);
  });
  it('renders more than 10 options as numbered text', () => {
    const options = Array.from({ length: 12 }, (_, i) => ({ id: `o${i}`, title: `Option ${i}` }));
    const parts = renderForWhatsApp({ text: 'Choose', options });
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ kind: 'text' });
  });
  it('a template reply is one template part', () => {
    expect(renderForWhatsApp({ text: '', template: { name: 'hello', language: 'en_US' } })).toEqual([{ kind: 'template', name: 'hello', language: 'en_US' }]);
  });
});

describe('renderForWhatsApp: parts per reply (issue 12)', () => {
  const huge = Array.from({ length: 3000 }, (_, i) => `Sentence number ${i} of a very long answer that goes on and on. `).join('') + '\n\n'.repeat(1) + 'x'.repeat(100_000) + ' end.';

  it('a 300 KB answer becomes at most 5 parts, the last ending with the note', () => {
    const text = huge.repeat(2).slice(0, 300_000);
    const parts = renderForWhatsApp({ text });
    expect(parts).toHaveLength(5);
    for (const p of parts) expect(p.kind === 'text' && p.text.length <= 4096).toBe(true);
    const last = parts[4]!;
    expect(last.kind === 'text' && last.text.endsWith('\n\n(message shortened)')).toBe(true);
  });

  it('the cap and the note are configurable; options keep their slot', () => {
    const parts = renderForWhatsApp({ text: huge, options: [{ id: 'a', title: 'Yes' }] }, { maxParts: 2, shortenedNote: '[…]' });
    expect(parts.map((p) => p.kind)).toEqual(['text', 'options']);
    expect(parts[0]!.kind === 'text' && parts[0]!.text.endsWith('[…]')).toBe(true);
  });

  it('a short answer is not touched; media use only the parts left over', () => {
    const media = Array.from({ length: 6 }, (_, i) => ({ kind: 'image' as const, url: `https://x/${i}.png` }));
    const parts = renderForWhatsApp({ text: 'Here you go', media });
    expect(parts).toHaveLength(5);
    expect(parts[0]).toEqual({ kind: 'text', text: 'Here you go' });
  });
});
