import { cacheableQuestion, cacheKeyHash } from './cache.js';

const base = { textOnly: true, messageCount: 1, maxChars: 200 };

describe('response cache eligibility', () => {
  it('caches short, standalone, FAQ-like questions (normalised)', () => {
    expect(cacheableQuestion({ ...base, text: 'Do you ship to Canada?' })).toBe('do you ship to canada');
    expect(cacheableQuestion({ ...base, text: 'do you SHIP to canada??' })).toBe('do you ship to canada');
    expect(cacheableQuestion({ ...base, text: '你们支持货到付款吗' })).toBe('你们支持货到付款吗');
  });
  it.each([
    ['Where is my order?', 'possessive'],
    ['Order 123456 status', 'number'],
    ['My email is ana@example.com', 'email'],
    ['Is https://shop.example/x in stock?', 'url'],
    ['Are you open today?', 'time word'],
    ['¿Dónde está mi pedido?', 'Spanish possessive'],
    ['我的订单到哪了', 'Chinese possessive'],
    ['Hola, soy Lucía, ¿envían a Canarias?', 'display name'],
  ])('never caches personal or time-dependent turns: %s (%s)', (text) => {
    expect(cacheableQuestion({ ...base, text, displayName: 'Lucía' })).toBeUndefined();
  });
  it('never caches bursts, media turns or long texts', () => {
    expect(cacheableQuestion({ ...base, messageCount: 2, text: 'Do you ship to Canada?' })).toBeUndefined();
    expect(cacheableQuestion({ ...base, textOnly: false, text: 'Do you ship to Canada?' })).toBeUndefined();
    expect(cacheableQuestion({ ...base, text: `Do you ship ${'far '.repeat(60)}?` })).toBeUndefined();
  });
  it('keys on question, prompt version, channel and language', () => {
    const k = { question: 'do you ship to canada', promptVersion: 'v1', channel: 'whatsapp', lang: 'en' };
    expect(cacheKeyHash(k)).toBe(cacheKeyHash({ ...k }));
    expect(cacheKeyHash(k)).not.toBe(cacheKeyHash({ ...k, promptVersion: 'v2' }));
    expect(cacheKeyHash(k)).not.toBe(cacheKeyHash({ ...k, channel: 'wechat-kf' }));
    expect(cacheKeyHash(k)).not.toBe(cacheKeyHash({ ...k, question: 'do you ship to mexico' }));
  });
});
