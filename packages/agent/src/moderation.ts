import { containsPhrase, normalize } from './text.js';

/** A word of a moderation list found in a text. */
export interface ModerationHit {
  lang: string;
  word: string;
}

/**
 * Checks texts against per-language sensitive-word lists (accent/case-insensitive, whole words,
 * substring for CJK). Every list is applied to every text: customers mix languages.
 */
export class WordListModerator {
  private readonly lists: Array<{ lang: string; words: Array<{ raw: string; norm: string }> }>;

  constructor(lists: Record<string, string[]>) {
    this.lists = Object.entries(lists).map(([lang, words]) => ({
      lang,
      words: words.map((raw) => ({ raw, norm: normalize(raw) })).filter((w) => w.norm),
    }));
  }

  /** The first listed word found in `text`, or undefined. */
  check(text: string): ModerationHit | undefined {
    if (!text) return undefined;
    const norm = normalize(text);
    for (const { lang, words } of this.lists) {
      const hit = words.find((w) => containsPhrase(norm, w.norm));
      if (hit) return { lang, word: hit.raw };
    }
    return undefined;
  }
}
