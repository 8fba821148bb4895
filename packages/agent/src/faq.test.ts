import { parseAgentConfig } from './config.js';
import { FaqMatcher } from './faq.js';

const config = parseAgentConfig(
  {
    faq: [
      {
        id: 'hours',
        match: {
          en: { keywords: ['opening hours', 'when are you open'], patterns: ['\\bopen\\b.*\\b(sunday|saturday)s?\\b'] },
          es: { keywords: ['horario', 'a que hora abren'] },
          zh: { keywords: ['营业时间'] },
        },
        answer: { en: 'Mon–Fri 9–18.', es: 'De lunes a viernes, 9–18.', zh: '周一至周五 9:00–18:00。' },
      },
      { id: 'returns', match: { en: { keywords: ['return policy', 'refund'] } }, answer: '30 days.' },
    ],
  },
  'test',
  {},
);
const faq = new FaqMatcher(config);

describe('FAQ matching', () => {
  it.each([
    ['What are your opening hours?', 'hours', 'en'],
    ['WHEN are you OPEN', 'hours', 'en'],
    ['Are you open on Sundays?', 'hours', 'en'],
    ['¿Cuál es el horario?', 'hours', 'es'],
    ['¿A qué hora abren?', 'hours', 'es'],
    ['请问你们的营业时间是？', 'hours', 'zh'],
    ['Can I get a refund?', 'returns', 'en'],
  ])('%s → %s (%s)', (text, id, lang) => {
    expect(faq.match(text)).toMatchObject({ entry: { id }, lang });
  });

  it('does not match partial words, unrelated text or long messages', () => {
    expect(faq.match('The refunding process seems odd')).toBeUndefined();
    expect(faq.match('I want to buy shoes')).toBeUndefined();
    expect(faq.match(`refund ${'x'.repeat(200)}`)).toBeUndefined();
    expect(faq.match('')).toBeUndefined();
  });
});

describe('greetings, thanks and handoff phrases', () => {
  it.each([
    ['Hi!', 'greetings', 'en'],
    ['hello there 👋', 'greetings', 'en'],
    ['Good morning, Lucía', 'greetings', 'en'],
    ['¡Buenos días!', 'greetings', 'es'],
    ['你好', 'greetings', 'zh'],
    ['Thanks a lot!!', 'thanks', 'en'],
    ['muchas gracias', 'thanks', 'es'],
    ['谢谢啊', 'thanks', 'zh'],
    ['Merci beaucoup', 'thanks', 'fr'],
  ])('%s → %s (%s)', (text, kind, lang) => {
    expect(faq.smallTalkOf(text, 'Lucía')).toEqual({ kind, lang });
  });

  it('leaves greetings with a question to the model', () => {
    expect(faq.smallTalkOf('hi, where is my order?')).toBeUndefined();
    expect(faq.smallTalkOf('thanks but it still does not work')).toBeUndefined();
    expect(faq.smallTalkOf('high prices')).toBeUndefined();
  });

  it('recognises requests for a person in several languages', () => {
    expect(faq.handoffRequest('Can I talk to a human please?')).toBe('en');
    expect(faq.handoffRequest('quiero hablar con una persona')).toBe('es');
    expect(faq.handoffRequest('转人工')).toBe('zh');
    expect(faq.handoffRequest('what is a human resources department?')).toBeUndefined();
  });

  it('can be switched off', () => {
    const off = new FaqMatcher(parseAgentConfig({ smallTalk: { enabled: false } }, 't', {}));
    expect(off.smallTalkOf('hello')).toBeUndefined();
  });
});
