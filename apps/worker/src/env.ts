import { z } from 'zod';
import { baseEnv, csv, int, port, WORKER_ROLES, type WorkerRole } from '@switchboard/core';
import { agentEnv } from '@switchboard/agent';
import { channelsEnv } from '@switchboard/channels';
import { mediaEnv } from '@switchboard/media';
import { fetchEnv } from '@switchboard/fetch';
import { knowledgeEnv, linkEnv } from '@switchboard/knowledge';
import { storeEnv } from '@switchboard/store';
import { recordEnv } from '@switchboard/record';
import { peopleEnv } from '@switchboard/people';
import { acceptEnv, backlogEnv } from '@switchboard/queue';
import { apiCallbackEnv } from './api-callback-settings.js';

/** Roles a worker process can run (WORKER_ROLES). */
export const ROLES = WORKER_ROLES;
export type Role = WorkerRole;

/** Worker settings (configuration contract plus pipeline tuning); every channel brings its own fragment. */
export const workerEnv = {
  ...baseEnv,
  ...agentEnv,
  ...mediaEnv,
  ...fetchEnv,
  ...channelsEnv,
  ...storeEnv,
  ...knowledgeEnv,
  ...recordEnv,
  ...peopleEnv,
  ...linkEnv,
  ...apiCallbackEnv,
  WORKER_ROLES: csv(),
  /** Jobs in flight per role in this process. Turns wait on the LLM, so this can be high. */
  WORKER_CONCURRENCY: int(32, 1),
  WORKER_METRICS_PORT: port(9464),
  /**
   * Lock of active jobs (ms), renewed at half of it and checked every quarter of it: jobs of a
   * killed worker are re-run between half of it and 1.25 × it after the kill. A run whose lock lapsed
   * (event loop or Redis stalled longer than half of it) may be re-run beside it; every job is
   * idempotent and a reply part is only marked and sent while its run holds the lock.
   */
  WORKER_LOCK_MS: int(5000, 2000),
  ...acceptEnv,
  ...backlogEnv,
  /** Largest share (0.05–1) of a sender's send rate a broadcast uses; the rest stays free for replies. */
  BROADCAST_RATE_SHARE: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().min(0.05).max(1).default(0.5)),
  /** How often a running broadcast feeds recipients and follows their outcomes (ms). */
  BROADCAST_TICK_MS: int(250, 20),
  /**
   * Minutes without human activity (an agent's reply, a console reply, a business app message)
   * after which a human-owned conversation belongs to the bot again; 0 = never (until handed back).
   * An agent's `handoff.autoResumeMinutes` overrides it for its conversations.
   */
  HANDOFF_AUTO_RESUME_MINUTES: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().min(0).max(365 * 24 * 60).default(0)),
  /** How often the inbound role hands expired human ownership back to the bot (ms). */
  HANDOFF_RESUME_SWEEP_MS: int(15_000, 100),
  /** …but never longer than this after the first message of the burst. */
  TURN_MAX_WAIT_MS: int(6000),
};
