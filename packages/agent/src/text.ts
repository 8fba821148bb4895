import { memoizeRecent } from '@switchboard/core';
import type { Localized } from './config.schema.js';

/**
 * Text helpers for matching customer messages: accent- and case-insensitive normalisation,
 * phrase containment (word-bounded for alphabetic scripts, substring for CJK), a small
 * script/stop-word language guess and localisation of configured texts.
 */

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * Lower-cases, removes accents, turns punctuation/symbols/emoji into spaces and collapses spaces.
 * The same customer text is matched many times per turn (opt-out, FAQ, small talk, moderation,
 * cache, routing, language): recent results are kept.
 */
export const normalize: (s: string) => string = memoizeRecent(normalizeText, 512);

function normalizeText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[\p{P}\p{S}\p{Extended_Pictographic}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** True when normalised `text` contains normalised `phrase` (whole words, or anywhere for CJK phrases). */
export function containsPhrase(text: string, phrase: string): boolean {
  if (!phrase) return false;
  if (CJK.test(phrase)) return text.includes(phrase);
  return ` ${text} `.includes(` ${phrase} `);
}

/** Removes every occurrence of `phrase` from normalised `text` (same word rules as {@link containsPhrase}). */
export function removePhrase(text: string, phrase: string): string {
  if (!phrase) return text;
  if (CJK.test(phrase)) return text.split(phrase).join(' ').replace(/\s+/g, ' ').trim();
  return ` ${text} `.split(` ${phrase} `).join(' ').replace(/\s+/g, ' ').trim();
}

const STOPWORDS: Record<string, string[]> = {
  en: ['the', 'is', 'are', 'you', 'i', 'my', 'what', 'how', 'do', 'can', 'to', 'and', 'have', 'it', 'please', 'where', 'when', 'hi', 'hello', 'thanks', 'thank', 'your', 'want', 'need', 'order'],
  es: ['el', 'la', 'los', 'las', 'es', 'que', 'de', 'y', 'por', 'para', 'mi', 'como', 'donde', 'cuando', 'hola', 'gracias', 'quiero', 'puedo', 'tienen', 'pedido', 'necesito', 'esta', 'un', 'una'],
  pt: ['o', 'a', 'os', 'as', 'e', 'que', 'de', 'do', 'da', 'meu', 'minha', 'como', 'onde', 'quando', 'ola', 'oi', 'obrigado', 'obrigada', 'quero', 'voce', 'tem', 'pedido', 'preciso', 'um', 'uma', 'nao'],
  fr: ['le', 'la', 'les', 'est', 'que', 'de', 'et', 'pour', 'mon', 'ma', 'comment', 'ou', 'quand', 'bonjour', 'merci', 'je', 'vous', 'avez', 'commande', 'un', 'une', 'pas', 'suis'],
  de: ['der', 'die', 'das', 'ist', 'und', 'ich', 'sie', 'mein', 'meine', 'wie', 'wo', 'wann', 'hallo', 'danke', 'haben', 'bestellung', 'nicht', 'ein', 'eine', 'bitte', 'kann'],
  it: ['il', 'lo', 'la', 'gli', 'che', 'di', 'e', 'per', 'mio', 'mia', 'come', 'dove', 'quando', 'ciao', 'grazie', 'voglio', 'avete', 'ordine', 'un', 'una', 'non', 'sono'],
};

/**
 * Guesses the language of a message: by script for CJK, Cyrillic, Arabic…, by stop words for
 * Latin-script languages. Returns undefined when there is no signal. A turn's text is looked at
 * several times (business hours, the agent, memory, the record): recent results are kept.
 */
export const detectLanguage: (text: string) => string | undefined = memoizeRecent(guessLanguage, 256);

const STOPWORD_SETS = Object.entries(STOPWORDS).map(([lang, list]) => [lang, new Set(list)] as const);

function guessLanguage(text: string): string | undefined {
  if (/[\p{Script=Hiragana}\p{Script=Katakana}]/u.test(text)) return 'ja';
  if (/\p{Script=Hangul}/u.test(text)) return 'ko';
  if (/\p{Script=Han}/u.test(text)) return 'zh';
  if (/\p{Script=Cyrillic}/u.test(text)) return 'ru';
  if (/\p{Script=Arabic}/u.test(text)) return 'ar';
  if (/\p{Script=Thai}/u.test(text)) return 'th';
  const words = normalize(text).split(' ').filter(Boolean);
  if (!words.length) return undefined;
  let best: string | undefined;
  let bestScore = 0;
  for (const [lang, list] of STOPWORD_SETS) {
    let score = 0;
    for (const w of words) if (list.has(w)) score++;
    if (score > bestScore) {
      best = lang;
      bestScore = score;
    }
  }
  return best;
}

/** Picks the text for `lang` (then its base language, then `defaultLanguage`, `default`, the first one). */
export function localize(text: Localized, lang: string | undefined, defaultLanguage: string): string {
  if (typeof text === 'string') return text;
  const base = lang?.split('-')[0];
  return (
    (lang && text[lang]) ||
    (base && text[base]) ||
    text[defaultLanguage] ||
    text.default ||
    Object.values(text)[0] ||
    ''
  );
}

/** Fills `{name}` (with a leading space, or nothing when unknown) and `{business}`. */
export function fillTemplate(template: string, vars: { name?: string | undefined; business: string }): string {
  const name = vars.name?.trim();
  return template.replace(/\{name\}/g, name ? ` ${name}` : '').replace(/\{business\}/g, vars.business);
}

/** Cuts `text` to at most `max` characters at a sentence (else word) boundary, ending with `…`. */
export function limitLength(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max - 1);
  const sentence = Math.max(...['. ', '! ', '? ', '\n', '。', '！', '？'].map((s) => head.lastIndexOf(s)));
  if (sentence >= max * 0.4) return `${head.slice(0, sentence + 1).trimEnd()}…`;
  const space = head.lastIndexOf(' ');
  return `${(space >= max * 0.5 ? head.slice(0, space) : head).trimEnd()}…`;
}
