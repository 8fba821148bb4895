import { shortHash } from '@switchboard/core';
import type { Cluster, Redis } from 'ioredis';
import type { AgentKeys } from './keys.js';
import { containsPhrase, normalize } from './text.js';

/** Words that make a question personal or time-dependent, so its answer must not be shared. */
const PERSONAL_WORDS = [
  'my', 'mine', 'i m', 'account', 'today', 'tomorrow', 'yesterday', 'now', 'tonight',
  'mi', 'mis', 'mio', 'mia', 'cuenta', 'hoy', 'manana', 'ahora', 'ayer',
  'meu', 'minha', 'meus', 'minhas', 'conta', 'hoje', 'amanha', 'agora', 'ontem',
  'mon', 'ma', 'mes', 'compte', 'aujourd hui', 'demain', 'maintenant', 'hier',
  'mein', 'meine', 'meinen', 'konto', 'heute', 'morgen', 'jetzt', 'gestern',
  '我的', '我', '账户', '账号', '今天', '明天', '现在', '昨天',
];
const PERSONAL_NORM = PERSONAL_WORDS.map(normalize);

/**
 * The normalised question when a turn may use the shared response cache: one short text-only
 * message, no digits runs (order/phone numbers), e-mail, URL, the customer's name, possessives or
 * time words. Anything else is personal or context-dependent and is never cached.
 */
export function cacheableQuestion(opts: { text: string; textOnly: boolean; messageCount: number; displayName?: string | undefined; maxChars: number }): string | undefined {
  const { text } = opts;
  if (!opts.textOnly || opts.messageCount !== 1 || !text || text.length > opts.maxChars) return undefined;
  if (/\d{3,}/.test(text) || /\S+@\S+/.test(text) || /https?:\/\/|www\./i.test(text)) return undefined;
  const norm = normalize(text);
  if (!norm) return undefined;
  if (PERSONAL_NORM.some((w) => containsPhrase(norm, w))) return undefined;
  const name = opts.displayName ? normalize(opts.displayName) : '';
  if (name && name.split(' ').some((w) => w.length > 1 && containsPhrase(norm, w))) return undefined;
  return norm;
}

/** The cache key of a question: normalised text, prompt version (prompt + model), channel and language. */
export function cacheKeyHash(opts: { question: string; promptVersion: string; channel: string; lang: string | undefined }): string {
  return shortHash(`${opts.promptVersion}|${opts.channel}|${opts.lang ?? '-'}|${opts.question}`, 32);
}

/** LLM answers of FAQ-like questions in Redis with a TTL. */
export class ResponseCache {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    private readonly ttlSeconds: number,
  ) {}

  /** The cached answer, if any. */
  async get(hash: string): Promise<string | undefined> {
    const raw = await this.redis.get(this.keys.cache(hash));
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw) as { text?: unknown };
      return typeof v.text === 'string' ? v.text : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores an answer (first writer wins; the TTL bounds staleness). */
  async set(hash: string, text: string): Promise<void> {
    await this.redis.set(this.keys.cache(hash), JSON.stringify({ text }), 'EX', this.ttlSeconds, 'NX');
  }
}
