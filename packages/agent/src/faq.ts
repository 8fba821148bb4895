import type { AgentConfig, FaqEntry } from './config.schema.js';
import { containsPhrase, normalize, removePhrase } from './text.js';

/** An FAQ entry that matched, with the language it matched in. */
export interface FaqHit {
  entry: FaqEntry;
  lang: string;
}

/** Greeting or thanks recognised in a message. */
export interface SmallTalkHit {
  kind: 'greetings' | 'thanks';
  lang: string;
}

/** Words that may accompany a greeting/thanks without making it a question. */
const FILLERS = new Set(
  'there team all everyone guys folks again so much very a lot you ok okay oh dear sir madam friend friends y muy amable todos equipo tudo bem pessoal tout le monde zusammen ein mal und and also too es sehr'.split(' '),
);
/** CJK sentence particles that may follow a greeting/thanks. */
const CJK_FILLERS = /^[啊呀哦呢吧嘛的了哈啦噢喔\s]*$/u;

interface CompiledLang {
  lang: string;
  keywords: string[];
  patterns: RegExp[];
}

/**
 * Matches customer text against FAQ entries, greetings/thanks and handoff phrases without the LLM.
 * Keywords are compared accent- and case-insensitively on whole words (anywhere for CJK);
 * patterns are case-insensitive regular expressions tried on the raw and the normalised text.
 */
export class FaqMatcher {
  private readonly faq: Array<{ entry: FaqEntry; langs: CompiledLang[] }>;
  private readonly smallTalk: Array<{ kind: SmallTalkHit['kind']; langs: CompiledLang[] }>;
  private readonly handoff: CompiledLang[];

  constructor(private readonly config: AgentConfig) {
    const compile = (lang: string, keywords: string[], patterns: string[] = []): CompiledLang => ({
      lang,
      keywords: keywords.map(normalize).filter(Boolean).sort((a, b) => b.length - a.length),
      patterns: patterns.map((p) => new RegExp(p, 'iu')),
    });
    this.faq = config.faq.map((entry) => ({
      entry,
      langs: Object.entries(entry.match).map(([lang, m]) => compile(lang, m.keywords, m.patterns)),
    }));
    const st = config.smallTalk;
    this.smallTalk = st.enabled
      ? (['greetings', 'thanks'] as const).map((kind) => ({
          kind,
          langs: Object.entries(st[kind].keywords).map(([lang, words]) => compile(lang, words)),
        }))
      : [];
    this.handoff = Object.entries(config.handoff.triggers).map(([lang, words]) => compile(lang, words));
  }

  /** The first FAQ entry matching `text` (messages longer than `faqMaxChars` never match). */
  match(text: string): FaqHit | undefined {
    if (!text || text.length > this.config.faqMaxChars) return undefined;
    const norm = normalize(text);
    for (const { entry, langs } of this.faq) {
      for (const l of langs) {
        if (l.keywords.some((k) => containsPhrase(norm, k)) || l.patterns.some((p) => p.test(text) || p.test(norm))) {
          return { entry, lang: l.lang };
        }
      }
    }
    return undefined;
  }

  /**
   * A greeting or thanks when the whole message is one (e.g. "hi there!", "¡muchas gracias!",
   * "谢谢啊"); "hi, where is my order?" is not. `name` (the display name) counts as filler.
   */
  smallTalkOf(text: string, name?: string): SmallTalkHit | undefined {
    const norm = normalize(text);
    if (!norm || norm.length > 60) return undefined;
    const nameWords = new Set(name ? normalize(name).split(' ') : []);
    for (const { kind, langs } of this.smallTalk) {
      for (const l of langs) {
        let rest = norm;
        let found = false;
        for (const k of l.keywords) {
          if (containsPhrase(rest, k)) {
            found = true;
            rest = removePhrase(rest, k);
          }
        }
        if (!found) continue;
        const leftover = rest.split(' ').filter((w) => w && !FILLERS.has(w) && !nameWords.has(w));
        if (leftover.length === 0 || CJK_FILLERS.test(leftover.join(''))) return { kind, lang: l.lang };
      }
    }
    return undefined;
  }

  /** The language of a handoff phrase ("talk to a human", "转人工") in `text`, if any. */
  handoffRequest(text: string): string | undefined {
    if (!text) return undefined;
    const norm = normalize(text);
    return this.handoff.find((l) => l.keywords.some((k) => containsPhrase(norm, k)))?.lang;
  }
}
