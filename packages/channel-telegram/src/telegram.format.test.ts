import { parseMarkdownV2Strictly } from '@switchboard/testkit';
import { escapeMarkdownV2, markdownToEntities, markdownV2ToPlain, splitFormatted, toMarkdownV2, TELEGRAM_TEXT_LIMIT, type FormattedText } from './telegram.format.js';

/** What Telegram would show for a MarkdownV2 string (the fake's independent, strict parser). */
function shown(mdv2: string): string {
  const r = parseMarkdownV2Strictly(mdv2);
  if (!r.ok) throw new Error(`${r.error} in ${JSON.stringify(mdv2)}`);
  return r.text;
}

describe('markdownToEntities', () => {
  it('turns inline Markdown into entities over plain text', () => {
    expect(markdownToEntities('**Hello** _world_, `a_b` and [the shop](https://example.com/a_(b)) ~~old~~')).toEqual({
      text: 'Hello world, a_b and the shop old',
      entities: [
        { type: 'bold', offset: 0, length: 5 },
        { type: 'italic', offset: 6, length: 5 },
        { type: 'code', offset: 13, length: 3 },
        { type: 'text_link', offset: 21, length: 8, url: 'https://example.com/a_(b)' },
        { type: 'strikethrough', offset: 30, length: 3 },
      ],
    });
  });

  it('turns headings bold, numbers and bullets lists, keeps code blocks with their language', () => {
    const f = markdownToEntities('# Order status\n\nYour order:\n\n- shoes\n- socks\n  - blue\n\n3. pay\n4. ship\n\n```json\n{"a": 1}\n```');
    expect(f.text).toBe('Order status\n\nYour order:\n\n• shoes\n• socks\n  • blue\n\n3. pay\n4. ship\n\n{"a": 1}');
    expect(f.entities).toEqual([
      { type: 'bold', offset: 0, length: 12 },
      { type: 'pre', offset: f.text.indexOf('{'), length: 8, language: 'json' },
    ]);
  });

  it('keeps only a plain language name on code blocks', () => {
    expect(markdownToEntities('```c#\nx = 1\n```').entities).toEqual([{ type: 'pre', offset: 0, length: 5 }]);
    expect(markdownToEntities('```objective-c\nx\n```').entities[0]).toMatchObject({ language: 'objective-c' });
  });

  it('quotes, tables and unsafe links', () => {
    const f = markdownToEntities('> quoted **x**\n> more\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[mail us](mailto:help@example.com) [rel](/path) <https://example.com>');
    expect(f.text).toBe('quoted x\nmore\n\na | b\n1 | 2\n\nmail us (help@example.com) rel (/path) https://example.com');
    expect(f.entities.map((e) => e.type)).toEqual(['blockquote', 'bold', 'bold']);
    expect(f.entities.some((e) => e.type === 'text_link')).toBe(false);
  });

  it('counts offsets in UTF-16 units (emoji are two)', () => {
    const f = markdownToEntities('😀 **bold**');
    expect(f.entities).toEqual([{ type: 'bold', offset: 3, length: 4 }]);
  });

  it('never lets an entity start or end on whitespace, and drops empty ones', () => {
    const f = markdownToEntities('** ** and __x__');
    for (const e of f.entities) {
      expect(f.text[e.offset]).not.toMatch(/\s/);
      expect(f.text[e.offset + e.length - 1]).not.toMatch(/\s/);
    }
  });

  it('treats HTML as text', () => {
    expect(markdownToEntities('<b>hi</b> & <script>x</script>').text).toBe('<b>hi</b> & <script>x</script>');
  });
});

describe('toMarkdownV2', () => {
  it('escapes every reserved character outside entities', () => {
    const reserved = '_*[]()~`>#+-=|{}.!\\';
    expect(escapeMarkdownV2(reserved)).toBe(reserved.split('').map((c) => `\\${c}`).join(''));
    expect(toMarkdownV2({ text: `Price: 1+1=2! (really) #1 a.b ${reserved}`, entities: [] })).toBe(
      'Price: 1\\+1\\=2\\! \\(really\\) \\#1 a\\.b ' + escapeMarkdownV2(reserved),
    );
  });

  it('escapes only ` and \\ inside code and pre, ) and \\ inside link URLs', () => {
    const text = 'run a_b.c `x` \\ done';
    const f: FormattedText = { text, entities: [{ type: 'code', offset: 4, length: 11 }] };
    expect(toMarkdownV2(f)).toBe('run `a_b.c \\`x\\` \\\\` done');
    expect(toMarkdownV2({ text: 'site', entities: [{ type: 'text_link', offset: 0, length: 4, url: 'https://e.com/a_(b)\\' }] })).toBe('[site](https://e.com/a_(b\\)\\\\)');
    expect(toMarkdownV2({ text: 'if (a) {}', entities: [{ type: 'pre', offset: 0, length: 9, language: 'js' }] })).toBe('```js\nif (a) {}\n```');
  });

  it('separates adjacent italics with an empty bold entity (so "__" is not underline)', () => {
    expect(toMarkdownV2({ text: 'ab', entities: [{ type: 'italic', offset: 0, length: 1 }, { type: 'italic', offset: 1, length: 1 }] })).toBe('_a_**_b_');
  });

  it('keeps only line-starting, outermost quotes as blockquotes', () => {
    for (const sample of ['> > nested\n> > twice', '- > quote in a list', '>>> deep']) {
      const f = markdownToEntities(sample);
      expect(f.entities.filter((e) => e.type === 'blockquote').length).toBeLessThanOrEqual(1);
      expect(shown(toMarkdownV2(f))).toBe(f.text);
    }
  });

  it('prefixes every line of a blockquote with >', () => {
    expect(toMarkdownV2(markdownToEntities('> one\n> two.'))).toBe('>one\n>two\\.');
  });

  const samples = [
    'Plain text. With (parens), dots... and a 50% discount!!',
    '**Bold _and italic_** then `code with ` inside` and ***both***',
    '# Title #1\n\n1. first\n2. second\n\n- a\n- b\n\n> quote with [link](https://x.y/?q=a_b&c=(1))\n\n```\nraw \\ `tick` *star*\n```',
    'emoji 😀🇵🇹 and CJK 你好 **粗体** _斜体_',
    '*a*_b_ __c__**d** ~~e~~ [f](https://f.g) ![img](https://i.j/k.png)',
    'Edge: \\*not bold\\* and 1\\. not a list, a | b | c, {x} = [y]',
  ];

  it.each(samples)('Telegram parses %p back to exactly the plain text', (sample) => {
    const f = markdownToEntities(sample);
    expect(shown(toMarkdownV2(f))).toBe(f.text);
    expect(markdownV2ToPlain(toMarkdownV2(f))).toBe(f.text);
  });

  it('round-trips random text made of reserved characters', () => {
    const alphabet = 'ab _*[]()~`>#+-=|{}.!\\\n😀1:/';
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const chars = Array.from({ length: 1 + Math.floor(rand() * 80) }, () => Array.from(alphabet)[Math.floor(rand() * Array.from(alphabet).length)]);
      const f = markdownToEntities(chars.join(''));
      expect(shown(toMarkdownV2(f))).toBe(f.text);
    }
  });
});

describe('splitFormatted', () => {
  it('keeps a short text whole', () => {
    const f = markdownToEntities('**hi** there');
    expect(splitFormatted(f)).toEqual([f]);
  });

  it('splits at 4096 UTF-16 units on paragraph boundaries, every part valid MarkdownV2', () => {
    const para = (i: number) => `**Section ${i}.** ${'Lorem ipsum dolor sit amet (1+1). '.repeat(20)}`;
    const md = Array.from({ length: 30 }, (_, i) => para(i)).join('\n\n');
    const f = markdownToEntities(md);
    const parts = splitFormatted(f);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
      expect(shown(toMarkdownV2(p))).toBe(p.text);
      expect(p.text.startsWith('Section')).toBe(true);
    }
    expect(parts.map((p) => p.text).join('\n\n')).toBe(f.text);
  });

  it('splits an entity that crosses a cut into one entity per part', () => {
    const f: FormattedText = { text: 'aaaa bbbb cccc', entities: [{ type: 'bold', offset: 0, length: 14 }] };
    expect(splitFormatted(f, 9)).toEqual([
      { text: 'aaaa bbbb', entities: [{ type: 'bold', offset: 0, length: 9 }] },
      { text: 'cccc', entities: [{ type: 'bold', offset: 0, length: 4 }] },
    ]);
  });

  it('cuts a text without spaces hard, never inside a surrogate pair', () => {
    const f: FormattedText = { text: '😀'.repeat(10), entities: [] };
    const parts = splitFormatted(f, 5);
    for (const p of parts) {
      expect(p.text.length).toBeLessThanOrEqual(5);
      expect(p.text).toMatch(/^(😀)+$/u);
    }
    expect(parts.map((p) => p.text).join('')).toBe(f.text);
  });

  it('splits a code block too long for one message into code blocks', () => {
    const code = Array.from({ length: 400 }, (_, i) => `line ${i} = value_${i}; // (x)`).join('\n');
    const parts = splitFormatted(markdownToEntities('```\n' + code + '\n```'));
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.entities).toEqual([{ type: 'pre', offset: 0, length: p.text.length }]);
      expect(shown(toMarkdownV2(p))).toBe(p.text);
    }
  });
});
