import { type z } from 'zod';
import { flag, int, optional } from '@switchboard/core';

/**
 * Environment fragment of the record (the worker's `record` role and the pipeline's recorder).
 * Recording needs the store (`DATABASE_URL`); without it the recorder is a no-op.
 */
export const recordEnv = {
  /** Record conversations into the store (only when the store is configured). */
  RECORD_ENABLED: flag(true),
  /** Entries written in one transaction at most (one batch collects jobs until this many entries…). */
  RECORD_BATCH_MAX: int(500, 1),
  /** …or until this many ms passed since the first job of the batch arrived. */
  RECORD_BATCH_WAIT_MS: int(50, 0),
  /** Days messages (with their statuses and ownership events) are kept; 0 = forever. */
  RECORD_RETENTION_MESSAGES_DAYS: int(365, 0),
  /** Days per-turn details (model, tokens, cost, tools, sources) are kept; 0 = forever. */
  RECORD_RETENTION_TURNS_DAYS: int(90, 0),
  /** Days media metadata (kind, MIME type, size, file name) of messages is kept; 0 = as long as the message. */
  RECORD_RETENTION_MEDIA_DAYS: int(365, 0),
  /**
   * LLM prices in USD per 1M tokens, `model=input/output` comma-separated (e.g.
   * `gpt-4o-mini=0.15/0.6,my-model=1/2`); merged over the built-in table (see `DEFAULT_LLM_PRICES`).
   */
  LLM_PRICES: optional(),
};

/** Parsed values of {@link recordEnv}. */
export type RecordEnv = z.infer<z.ZodObject<typeof recordEnv>>;

/** Retention per kind, in days (0 = keep). */
export interface RecordRetention {
  readonly messagesDays: number;
  readonly turnsDays: number;
  readonly mediaDays: number;
}

/** The retention settings of a parsed environment. */
export function retentionOf(env: Pick<RecordEnv, 'RECORD_RETENTION_MESSAGES_DAYS' | 'RECORD_RETENTION_TURNS_DAYS' | 'RECORD_RETENTION_MEDIA_DAYS'>): RecordRetention {
  return { messagesDays: env.RECORD_RETENTION_MESSAGES_DAYS, turnsDays: env.RECORD_RETENTION_TURNS_DAYS, mediaDays: env.RECORD_RETENTION_MEDIA_DAYS };
}
