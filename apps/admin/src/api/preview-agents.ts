import { Agent, loadAgentConfig, type AgentEnv, type KnowledgeSearch } from '@switchboard/agent';
import { ChannelId, DEFAULT_ACCOUNT_ID, type AccountsFile, type Logger } from '@switchboard/core';
import type { RedisClient } from '@switchboard/queue';

/**
 * The agents the console's "test a question" box previews: the same `Agent` the workers build for
 * an account (its `ACCOUNTS_FILE` `agent`, else `AGENT_CONFIG`), over the same knowledge base, run
 * with {@link Agent.preview} — nothing is sent and no conversation is touched.
 */
export interface PreviewAgents {
  /**
   * The agent of gateway account `account` and the channel its preview runs as: `channel` when
   * given, else the channel of the account's first `ACCOUNTS_FILE` entry, else the first channel
   * of the registry. Throws when the account's agent configuration cannot be read.
   */
  resolve(account: string, channel?: ChannelId): { agent: Agent; channel: ChannelId };
  /** The gateway accounts the console knows: `default` and the ids of `ACCOUNTS_FILE`. */
  accounts(): string[];
}

/** What {@link createPreviewAgents} builds agents from (the admin's environment and connections). */
export interface PreviewAgentsOptions {
  env: AgentEnv;
  redis: RedisClient;
  prefix: string;
  log: Logger;
  knowledge: KnowledgeSearch | undefined;
  accountsFile?: AccountsFile | undefined;
  /** Where the configuration's `${NAME}` references are read from (`previewConfigEnv`: placeholders for what the admin does not hold). */
  configEnv: Record<string, string | undefined>;
}

/** Builds (once per configuration file, on first use) the agents of the console's previews. */
export function createPreviewAgents(opts: PreviewAgentsOptions): PreviewAgents {
  const agents = new Map<string, Agent>();
  const agentOf = (path: string | undefined): Agent => {
    const key = path ?? '';
    let a = agents.get(key);
    if (!a) {
      a = new Agent({ config: loadAgentConfig(path, opts.configEnv), env: opts.env, redis: opts.redis, prefix: opts.prefix, log: opts.log.child({ part: 'preview' }), knowledge: opts.knowledge });
      agents.set(key, a);
    }
    return a;
  };
  const entries = opts.accountsFile?.entries ?? [];
  return {
    resolve(account, channel) {
      const mine = entries.filter((e) => e.id === account);
      const entry = (channel ? mine.find((e) => e.channel === channel) : undefined) ?? mine.find((e) => e.agent) ?? mine[0];
      const path = entry?.agent ?? opts.env.AGENT_CONFIG;
      const first = ChannelId.options[0]!;
      return { agent: agentOf(path), channel: channel ?? entry?.channel ?? first };
    },
    accounts() {
      return [...new Set([DEFAULT_ACCOUNT_ID, ...entries.map((e) => e.id)])];
    },
  };
}
