import { splitText, utf8Length } from '@switchboard/core';
import { fitText, markdownToWechatText, renderWechatReply, TRUNCATION_MARK, WECHAT_TEXT_MAX_BYTES } from './wechat.format.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** A string whose UTF-8 encoding survives a round trip (no cut surrogate pair or multi-byte char). */
const intact = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s && !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));

describe('markdown → WeChat plain text', () => {
  it('strips emphasis, code, headings and keeps link targets', () => {
    const md = [
      '# 订单状态',
      '',
      'Your **order** is *on its way* and ~~late~~ `ABC-1` arrives __soon__.',
      'See [the tracking page](https://t.example/x) or <https://t.example/y>.',
      '![map](https://img.example/m.png)',
      '',
      '- first',
      '* second',
      '1. numbered',
      '- [x] done',
      '> quoted',
      '---',
      '| a | b |',
      '|---|:-:|',
      '| 1 | 2 |',
      '```js',
      'const x = **not bold**;',
      '```',
      'snake_case_name and 2*3*4 stay',
    ].join('\n');
    expect(markdownToWechatText(md)).toBe(
      [
        '订单状态',
        '',
        'Your order is on its way and late ABC-1 arrives soon.',
        'See the tracking page (https://t.example/x) or https://t.example/y.',
        'map: https://img.example/m.png',
        '',
        '• first',
        '• second',
        '1. numbered',
        '☑ done',
        'quoted',
        '————',
        'a | b',
        '1 | 2',
        'const x = **not bold**;',
        'snake_case_name and 2*3*4 stay',
      ].join('\n'),
    );
  });

  it('collapses runs of blank lines and escapes', () => {
    expect(markdownToWechatText('a\n\n\n\nb \\*c\\*')).toBe('a\n\nb *c*');
  });
});

describe('byte-length splitting (Chinese and emoji)', () => {
  const chinese = '这是一个很长的句子，用来测试按字节拆分的逻辑。'.repeat(200); // 3 bytes per char
  const emoji = '😀🎉👍🏽 '.repeat(800); // 4-byte code points, a skin-tone modifier, spaces

  it.each([
    ['Chinese', chinese],
    ['emoji', emoji],
    ['mixed', `${chinese}${emoji}Hello world. `.repeat(2)],
  ])('%s: every chunk ≤ 2048 bytes and no code point is cut', (_n, text) => {
    const chunks = splitText(text, WECHAT_TEXT_MAX_BYTES, utf8Length);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(bytes(c)).toBeLessThanOrEqual(2048);
      expect(intact(c)).toBe(true);
    }
  });

  it('splits Chinese on sentence ends (。)', () => {
    const chunks = splitText(chinese, WECHAT_TEXT_MAX_BYTES, utf8Length);
    for (const c of chunks) expect(c.endsWith('。')).toBe(true);
  });

  it('fitText shortens instead of failing when the answer needs more messages than allowed', () => {
    const long = '第一句话很重要。'.repeat(1200); // ~28.8 KB
    const parts = fitText(long, 3, 2048);
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(bytes(p)).toBeLessThanOrEqual(2048);
    expect(parts[2]!.endsWith(`。${TRUNCATION_MARK}`)).toBe(true);
    expect(fitText('short', 3, 2048)).toEqual(['short']);
    expect(fitText('', 3, 2048)).toEqual([]);
  });
});

describe('renderWechatReply', () => {
  const sentence = 'This sentence is part of a long answer about shipping. ';

  it('a 6,000-byte answer becomes at most 5 messages of at most 2048 bytes', () => {
    const text = sentence.repeat(Math.ceil(6000 / bytes(sentence)));
    expect(bytes(text)).toBeGreaterThanOrEqual(6000);
    const parts = renderWechatReply({ text }, { maxParts: 5, maxBytes: 2048 });
    expect(parts.length).toBeLessThanOrEqual(5);
    expect(parts.length).toBe(3);
    for (const p of parts) {
      expect(p.kind).toBe('text');
      if (p.kind === 'text') expect(bytes(p.text)).toBeLessThanOrEqual(2048);
    }
  });

  it('a 30 KB answer is cut to the allowance with a mark, never an error', () => {
    const parts = renderWechatReply({ text: '很长的回答。'.repeat(2000) }, { maxParts: 4, maxBytes: 2048 });
    expect(parts).toHaveLength(4);
    const last = parts[3]!;
    expect(last.kind === 'text' && last.text.endsWith(TRUNCATION_MARK)).toBe(true);
  });

  it('is deterministic (a resumed send sees the same parts)', () => {
    const reply = { text: `## Hi\n\n${sentence.repeat(120)}`, options: [{ id: 'a', title: 'Yes' }] };
    expect(renderWechatReply(reply)).toEqual(renderWechatReply(reply));
  });

  it('options become a click menu whose heading is the last short text', () => {
    const parts = renderWechatReply({ text: 'Pick one:', options: [{ id: 'y', title: 'Yes' }, { id: 'n', title: 'No' }] });
    expect(parts).toEqual([{ kind: 'options', text: 'Pick one:', options: [{ id: 'y', title: 'Yes' }, { id: 'n', title: 'No' }] }]);
  });

  it('media take the slots left after the text; menus keep at most 10 items', () => {
    const media = [1, 2, 3, 4, 5].map((i) => ({ kind: 'image' as const, url: `https://m.example/${i}.png` }));
    const options = Array.from({ length: 12 }, (_, i) => ({ id: `o${i}`, title: `Option ${i}` }));
    const parts = renderWechatReply({ text: 'Here:', media, options }, { maxParts: 4, maxBytes: 2048 });
    expect(parts.map((p) => p.kind)).toEqual(['media', 'media', 'media', 'options']);
    const menu = parts[3]!;
    expect(menu.kind === 'options' && menu.options.length).toBe(10);
    expect(renderWechatReply({ text: '' })).toEqual([]);
  });
});
