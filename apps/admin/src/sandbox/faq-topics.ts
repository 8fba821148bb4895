import { loadAgentConfig, type AgentConfig } from '@switchboard/agent';
import type { Logger } from '@switchboard/core';

/** One thing the offline agent answers without the LLM, as the sandbox page lists it. */
export interface FaqTopic {
  id: string;
  /** A phrase that triggers it (English first), for the newcomer to try. */
  example?: string;
}

/** What the agent answers in offline mode: the FAQ entries (with an example phrase each) and small talk. */
export interface OfflineCoverage {
  faq: FaqTopic[];
  /** Greetings and thanks are answered locally too. */
  smallTalk: boolean;
}

/** The FAQ topics of an agent configuration. */
export function offlineCoverage(config: AgentConfig): OfflineCoverage {
  const faq = config.faq.map((entry) => {
    const langs = Object.keys(entry.match).sort((a, b) => (a === 'en' ? -1 : b === 'en' ? 1 : 0));
    const example = langs.map((l) => entry.match[l]?.keywords[0]).find((k): k is string => Boolean(k));
    return example ? { id: entry.id, example } : { id: entry.id };
  });
  return { faq, smallTalk: config.smallTalk.enabled };
}

/**
 * Reads the FAQ of AGENT_CONFIG the way the worker does. Only the FAQ is used: `${ENV}` references of
 * tool headers (secrets the admin app does not hold) are satisfied with a placeholder. A file that
 * cannot be read gives no topics and a warning (the worker reports the real error).
 */
export function loadOfflineCoverage(path: string | undefined, log: Logger): OfflineCoverage | undefined {
  const placeholders = new Proxy<Record<string, string>>({}, { get: () => 'unused-by-the-sandbox' });
  try {
    return offlineCoverage(loadAgentConfig(path, placeholders));
  } catch (err) {
    log.warn('sandbox: cannot read the FAQ of AGENT_CONFIG', { err: err instanceof Error ? err.message.split('\n')[0] : String(err) });
    return undefined;
  }
}
