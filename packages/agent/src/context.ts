import type { Cluster, Redis } from 'ioredis';
import { loadScripts } from '@switchboard/queue';
import type { AgentKeys } from './keys.js';
import { parseTurns, type MemoryTurn } from './memory.js';
import { parseProfile, type CustomerProfile } from './profile.js';

/** What a turn reads before it asks the model. */
export interface TurnContext {
  /** Remembered turns, oldest first (at most `maxTurns`). */
  readonly turns: MemoryTurn[];
  readonly summary: string | undefined;
  readonly profile: CustomerProfile | undefined;
  /** Whether the conversation has a failure streak running (a successful turn ends it). */
  readonly failing: boolean;
}

/**
 * Reads a turn's context in one script call (`agentContext-4.lua`): memory, summary, profile (when
 * `readProfile`) and whether a failure streak runs — the same values as
 * `ConversationMemory.history`/`summary`, `ProfileStore.get` and the failure counter.
 */
export async function readTurnContext(
  redis: Redis | Cluster,
  keys: AgentKeys,
  ids: { conversationId: string; customerId: string },
  opts: { maxTurns: number; readProfile: boolean },
): Promise<TurnContext> {
  const [summary, profile, failing, ...turns] = await loadScripts(redis).sbAgentContext(
    keys.memory(ids.conversationId),
    keys.summary(ids.conversationId),
    keys.profile(ids.customerId),
    keys.failures(ids.conversationId),
    opts.maxTurns,
    opts.readProfile ? '1' : '',
  );
  return { turns: parseTurns(turns), summary: summary ?? undefined, profile: opts.readProfile ? parseProfile(profile) : undefined, failing: failing === 1 };
}
