import { containsPhrase, detectLanguage, fillTemplate, limitLength, localize, normalize } from './text.js';

describe('text helpers', () => {
  it('normalises case, accents, punctuation and emoji', () => {
    expect(normalize('¡Buenos DÍAS, señor! 👋')).toBe('buenos dias senor');
    expect(normalize('请问，营业时间？')).toBe('请问 营业时间');
  });
  it('matches whole words, and CJK anywhere', () => {
    expect(containsPhrase('can i get a refund', 'refund')).toBe(true);
    expect(containsPhrase('refunding', 'refund')).toBe(false);
    expect(containsPhrase('请问营业时间', '营业时间')).toBe(true);
  });
  it.each([
    ['Where is my order? I need it please', 'en'],
    ['¿Dónde está mi pedido? Lo necesito', 'es'],
    ['Onde está o meu pedido? Não chegou', 'pt'],
    ['Bonjour, je ne trouve pas ma commande', 'fr'],
    ['Hallo, wo ist meine Bestellung?', 'de'],
    ['我的订单在哪里', 'zh'],
    ['注文はどこですか', 'ja'],
    ['Где мой заказ', 'ru'],
    ['👍', undefined],
  ])('detects %s as %s', (text, lang) => {
    expect(detectLanguage(text)).toBe(lang);
  });
  it('localises with fallbacks', () => {
    const t = { en: 'Hello', es: 'Hola', default: 'Hi' };
    expect(localize(t, 'es', 'en')).toBe('Hola');
    expect(localize(t, 'es-MX', 'en')).toBe('Hola');
    expect(localize(t, 'de', 'en')).toBe('Hello');
    expect(localize({ fr: 'Salut' }, 'de', 'en')).toBe('Salut');
    expect(localize('plain', 'de', 'en')).toBe('plain');
  });
  it('fills name and business', () => {
    expect(fillTemplate('Hi{name}! Welcome to {business}.', { name: 'Ana', business: 'Acme' })).toBe('Hi Ana! Welcome to Acme.');
    expect(fillTemplate('Hi{name}!', { business: 'Acme' })).toBe('Hi!');
  });
  it('limits length at a sentence or word boundary', () => {
    expect(limitLength('short', 100)).toBe('short');
    expect(limitLength('First sentence here. Second sentence is much longer than the limit.', 40)).toBe('First sentence here.…');
    const cut = limitLength('word '.repeat(50), 60);
    expect(cut.length).toBeLessThanOrEqual(60);
    expect(cut.endsWith('word…')).toBe(true);
  });
});
