/**
 * `pnpm agent:eval` (or `pnpm --filter @switchboard/agent eval`): plays the scripted
 * conversations of `packages/agent/eval/conversations.yaml` (or the file given as first
 * argument) against the configured model, or with `--fake` against the fake OpenAI server,
 * and prints answers, tool calls and handoffs. Needs Redis (REDIS_URL or 127.0.0.1:6379);
 * its keys use a private prefix and are removed at the end.
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
  const useFake = args.includes('--fake');
  const file = args.find((a) => !a.startsWith('--')) ?? resolve(__dirname, '../../eval/conversations.yaml');
  readDotenvFile();
  const env = loadConfig({ ...baseEnv, ...agentEnv });
  const config = loadAgentConfig(env.AGENT_CONFIG);
  let close = async () => {};
  let agentEnvValues = env;
  if (useFake) {
    // The fake lives in testkit (a dev dependency): loaded only for --fake.
    const { startFakeOpenAI } = await import('@switchboard/testkit');
    const fake = await startFakeOpenAI({
      reply: (req) => {
        const last = [...req.messages].reverse().find((m) => m.role === 'user');
        const text = typeof last?.content === 'string' ? last.content : '';
        if (/broken|angry|complain|call me/i.test(text) && req.tools?.some((t) => t.function.name === 'handoff_to_human') && !req.messages.some((m) => m.role === 'tool')) {
          return { tool_calls: [{ name: 'handoff_to_human', arguments: { reason: 'needs a person', summary: text.slice(0, 200) } }] };
        }
        return `(fake model) You said: ${text}`;
      },
    });
    agentEnvValues = { ...env, OPENAI_API_KEY: 'sk-fake', OPENAI_BASE_URL: fake.url };
    close = () => fake.close();
  }
  const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const prefix = `eval${Date.now().toString(36)}`;
  try {
    const agent = new Agent({ config, env: agentEnvValues, redis, prefix, log: silentLogger('agent-eval') });
    process.stdout.write(`agent eval: ${file} — model ${agentEnvValues.LLM_MODEL}${useFake ? ' (fake server)' : agent.online ? '' : ' (offline: no OPENAI_API_KEY)'}\n`);
    const turns = await runEval(agent, parseEvalSet(readFileSync(file, 'utf8')), prefix);
    process.stdout.write(formatEval(turns));
  } finally {
    await dropPrefix(redis, prefix);
    await redis.quit();
    await close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`agent eval failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
