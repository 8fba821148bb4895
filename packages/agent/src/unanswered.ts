import { shortHash } from '@switchboard/core';
import { loadScripts } from '@switchboard/queue';
import type { Cluster, Redis } from 'ioredis';
import type { AgentKeys } from './keys.js';

/** Distinct questions kept per gateway account (the newest by last asked). */
export const UNANSWERED_MAX = 1000;
/** How long an account's questions are kept after the last one was recorded. */
export const UNANSWERED_TTL_SECONDS = 90 * 24 * 3600;
/** Characters of a question kept. */
const QUESTION_CHARS = 500;

/** A question the knowledge base could not answer, as the console lists it. */
export interface UnansweredQuestion {
  /** Stable per account and question (a hash of the normalised question). */
  readonly id: string;
  /** The gateway account the question was asked on (`default` when unnamed). */
  readonly account: string;
  /** The question as first asked. */
  readonly question: string;
  /** Turns that asked it (a retried turn counts once). */
  readonly count: number;
  /** Epoch ms of the first and the last time it was asked. */
  readonly firstAskedAt: number;
  readonly lastAskedAt: number;
  /** The channel it was last asked on. */
  readonly channel?: string;
}

/** The form two askings of one question share: NFKC, lower case, single spaces, no closing punctuation. */
export function normaliseQuestion(question: string): string {
  return question
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s?!.。？！…,，;；:：]+$/u, '');
}

/** The id of a question (per account): the same for every asking that normalises alike. */
export function unansweredId(question: string): string {
  return shortHash(normaliseQuestion(question), 16);
}

/**
 * Questions the knowledge base could not answer (strict grounding found nothing), per gateway
 * account: one entry per distinct question with a count and the first and last time it was asked —
 * suggestions for new knowledge. No conversation or customer id is kept, only the question text.
 */
export class UnansweredQuestions {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: Pick<AgentKeys, 'unanswered' | 'unansweredDetails'>,
  ) {}

  /** Counts one asking (once per turn id: a retried turn does not count again). Returns the question's id. */
  async record(account: string, ask: { readonly question: string; readonly channel: string; readonly turnId: string; readonly at: number }): Promise<string> {
    const question = ask.question.trim().slice(0, QUESTION_CHARS);
    const id = unansweredId(question);
    await loadScripts(this.redis).sbUnansweredRecord(
      this.keys.unanswered(account),
      this.keys.unansweredDetails(account),
      id,
      ask.at,
      JSON.stringify({ question, at: ask.at }),
      ask.turnId,
      ask.channel,
      UNANSWERED_MAX,
      UNANSWERED_TTL_SECONDS,
    );
    return id;
  }

  /** The account's questions, most recently asked first. */
  async list(account: string, limit = 200): Promise<UnansweredQuestion[]> {
    const flat = await this.redis.zrevrange(this.keys.unanswered(account), 0, Math.max(0, limit - 1), 'WITHSCORES');
    const entries: Array<{ id: string; last: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ id: flat[i]!, last: Number(flat[i + 1]) });
    if (!entries.length) return [];
    const fields = entries.flatMap((e) => [`q:${e.id}`, `n:${e.id}`, `c:${e.id}`]);
    const values = await this.redis.hmget(this.keys.unansweredDetails(account), ...fields);
    const out: UnansweredQuestion[] = [];
    entries.forEach((e, i) => {
      const first = parseFirst(values[i * 3]);
      // trimmed or dismissed between the two reads
      if (!first) return;
      const channel = values[i * 3 + 2];
      out.push({ id: e.id, account, question: first.question, count: Number(values[i * 3 + 1] ?? 1) || 1, firstAskedAt: first.at, lastAskedAt: e.last, ...(channel ? { channel } : {}) });
    });
    return out;
  }

  /** Removes one question (it is answered now, or not worth answering); false when there was none. */
  async dismiss(account: string, id: string): Promise<boolean> {
    const res = await this.redis
      .multi()
      .zrem(this.keys.unanswered(account), id)
      .hdel(this.keys.unansweredDetails(account), `q:${id}`, `n:${id}`, `c:${id}`, `t:${id}`)
      .exec();
    return Number(res?.[0]?.[1] ?? 0) > 0;
  }
}

function parseFirst(raw: string | null | undefined): { question: string; at: number } | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as { question?: unknown; at?: unknown };
    return typeof v.question === 'string' && typeof v.at === 'number' ? { question: v.question, at: v.at } : undefined;
  } catch {
    return undefined;
  }
}
