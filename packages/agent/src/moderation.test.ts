import { WordListModerator } from './moderation.js';

describe('WordListModerator', () => {
  const m = new WordListModerator({ en: ['idiot', 'buy followers'], es: ['estúpido'], zh: ['赌博'] });
  it('finds listed words in any language, ignoring case and accents, on whole words', () => {
    expect(m.check('You are an IDIOT!')).toEqual({ lang: 'en', word: 'idiot' });
    expect(m.check('eres un estupido')).toEqual({ lang: 'es', word: 'estúpido' });
    expect(m.check('我想了解网络赌博')).toEqual({ lang: 'zh', word: '赌博' });
    expect(m.check('where can I buy followers')).toEqual({ lang: 'en', word: 'buy followers' });
  });
  it('passes clean text and partial words', () => {
    expect(m.check('idiotic weather today')).toBeUndefined();
    expect(m.check('hello')).toBeUndefined();
    expect(new WordListModerator({}).check('anything')).toBeUndefined();
  });
});
