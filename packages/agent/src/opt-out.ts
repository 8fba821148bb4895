import { BUILTIN_OPT_IN_KEYWORDS, BUILTIN_OPT_OUT_KEYWORDS } from './config.defaults.js';
import type { AgentConfig } from './config.schema.js';
import { normalize } from './text.js';

/** What a customer message asks for: opting out of business-initiated messages, or back in. */
export type OptOutIntent = 'opt_out' | 'opt_in';

/** Keywords compare without case, spaces or punctuation ("Stop!", " s t o p ", "退订。"). */
function squash(text: string): string {
  return normalize(text).replace(/\s+/g, '');
}

/**
 * Matches whole customer messages against the opt-out and opt-in keywords (built-in ones plus
 * AGENT_CONFIG `optOut.keywords` / `optOut.optInKeywords`). Only a message that is the keyword and
 * nothing else counts: "stop sending me the wrong size" is a question for the bot.
 */
export class OptOutKeywords {
  private readonly out: ReadonlySet<string>;
  private readonly in: ReadonlySet<string>;
  private readonly enabled: boolean;

  constructor(config: AgentConfig['optOut']) {
    this.enabled = config.enabled;
    this.out = new Set([...BUILTIN_OPT_OUT_KEYWORDS, ...config.keywords].map(squash).filter(Boolean));
    this.in = new Set([...BUILTIN_OPT_IN_KEYWORDS, ...config.optInKeywords].map(squash).filter(Boolean));
  }

  /** The intent of a message's text, or undefined for any other message. */
  match(text: string): OptOutIntent | undefined {
    if (!this.enabled) return undefined;
    const s = squash(text);
    if (!s || s.length > 60) return undefined;
    if (this.out.has(s)) return 'opt_out';
    if (this.in.has(s)) return 'opt_in';
    return undefined;
  }
}
