import { shortHash } from '@switchboard/core';
import type { Cluster, Redis } from 'ioredis';
import type { AgentConfig } from './config.schema.js';
import type { ChatFn } from './llm.js';
import { containsPhrase, normalize } from './text.js';

/** One A/B variant as configured. */
export type Variant = AgentConfig['variants'][number];

/** Why a turn went to the strong model (or `simple`). */
export type RouteReason = 'simple' | 'length' | 'attachments' | 'keyword' | 'classifier';

/**
 * Picks the model class of a turn by the configured rules: length, attachments, complex-topic
 * keywords, then (optionally) a one-word classification by the cheap model. Without a
 * `strongModel` every turn is simple.
 */
export async function routeTurn(
  routing: AgentConfig['routing'],
  turn: { text: string; hasAttachments: boolean },
  classify?: () => Promise<'simple' | 'complex'>,
): Promise<RouteReason> {
  if (!routing.strongModel) return 'simple';
  if (turn.text.length >= routing.minChars) return 'length';
  if (routing.attachments && turn.hasAttachments) return 'attachments';
  const norm = normalize(turn.text);
  if (Object.values(routing.keywords).some((words) => words.some((w) => containsPhrase(norm, normalize(w))))) return 'keyword';
  if (routing.classifier && classify) return (await classify()) === 'complex' ? 'classifier' : 'simple';
  return 'simple';
}

const CLASSIFIER_PROMPT =
  'Classify the customer message for a support assistant. Reply with exactly one word: SIMPLE (greeting, short factual question, small talk) or COMPLEX (several questions, a complaint, troubleshooting, calculations, anything needing careful reasoning).';

/** A classifier that asks `model` for SIMPLE/COMPLEX; any failure counts as simple (the cheap path). */
export function llmClassifier(chat: ChatFn, model: string, text: string, deadline: number): () => Promise<'simple' | 'complex'> {
  return async () => {
    try {
      const res = await chat(
        { model, messages: [{ role: 'system', content: CLASSIFIER_PROMPT }, { role: 'user', content: text.slice(0, 2000) }], maxTokens: 3, temperature: 0 },
        Math.min(deadline, Date.now() + 10_000),
      );
      return /complex/i.test(res.message.content ?? '') ? 'complex' : 'simple';
    } catch {
      return 'simple';
    }
  };
}

/** The variant a weighted draw from a conversation id's hash lands on. */
export function pickVariant(variants: Variant[], conversationId: string): Variant | undefined {
  const total = variants.reduce((s, v) => s + v.weight, 0);
  if (!variants.length || total <= 0) return undefined;
  const point = (parseInt(shortHash(conversationId, 8), 16) / 0x100000000) * total;
  let acc = 0;
  for (const v of variants) {
    acc += v.weight;
    if (point < acc) return v;
  }
  return variants[variants.length - 1];
}

/**
 * The conversation's A/B variant: the first assignment is stored (SET NX) so that changing the
 * weights later does not move running conversations; the draw itself is deterministic, so a
 * retried turn gets the same variant either way.
 */
export async function assignVariant(redis: Redis | Cluster, key: string, variants: Variant[], conversationId: string, ttlSeconds: number): Promise<Variant | undefined> {
  const drawn = pickVariant(variants, conversationId);
  if (!drawn) return undefined;
  const created = await redis.set(key, drawn.name, 'EX', ttlSeconds, 'NX');
  if (created === 'OK') return drawn;
  const stored = await redis.get(key);
  return variants.find((v) => v.name === stored) ?? drawn;
}
