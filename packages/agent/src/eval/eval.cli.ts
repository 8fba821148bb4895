/**
 * `pnpm agent:eval` (or `pnpm --filter @switchboard/agent eval`): plays the scripted
 * conversations of `packages/agent/eval/conversations.yaml` (or the file given as first
 * argument) against the model configured by OPENAI_* / LLM_MODEL / AGENT_CONFIG, and prints
 * answers, tool calls and handoffs. Needs Redis (REDIS_URL or 127.0.0.1:6379); its keys use a
 * private prefix and are removed at the end. The fake model of `pnpm agent:eval -- --fake` is
 * started by `scripts/agent-eval.mjs`, which points OPENAI_BASE_URL at it: this CLI loads no fake.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { baseEnv, loadConfig, readDotenvFile, silentLogger } from '@switchboard/core';
import { Redis } from 'ioredis';
import { Agent } from '../agent.js';
import { loadAgentConfig } from '../config.js';
import { agentEnv } from '../env.js';
import { formatEval, parseEvalSet, runEval } from './eval.js';

async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--fake')) throw new Error('--fake is an option of `pnpm agent:eval` (scripts/agent-eval.mjs), which starts the fake model');
  const file = args.find((a) => !a.startsWith('--')) ?? resolve(__dirname, '../../eval/conversations.yaml');
  readDotenvFile();
  const env = loadConfig({ ...baseEnv, ...agentEnv });
  const config = loadAgentConfig(env.AGENT_CONFIG);
  const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const prefix = `eval${Date.now().toString(36)}`;
  try {
    const agent = new Agent({ config, env, redis, prefix, log: silentLogger('agent-eval') });
    const where = env.OPENAI_BASE_URL ? ` at ${env.OPENAI_BASE_URL}` : '';
    process.stdout.write(`agent eval: ${file} — model ${env.LLM_MODEL}${agent.online ? where : ' (offline: no OPENAI_API_KEY)'}\n`);
    const turns = await runEval(agent, parseEvalSet(readFileSync(file, 'utf8')), prefix);
    process.stdout.write(formatEval(turns));
  } finally {
    await dropPrefix(redis, prefix);
    await redis.quit();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`agent eval failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
