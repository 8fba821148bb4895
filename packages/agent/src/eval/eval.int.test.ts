import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '@switchboard/core';
import { dropPrefix, startFakeOpenAI, testRedisUrl, uniquePrefix, type FakeOpenAI } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { Agent } from '../agent.js';
import { loadAgentConfig } from '../config.js';
import { formatEval, parseEvalSet, runEval, scriptedContent } from './eval.js';

let redis: Redis;
let fake: FakeOpenAI;
const prefix = uniquePrefix('agenteval');

beforeAll(async () => {
  redis = new Redis(testRedisUrl());
  fake = await startFakeOpenAI({
    reply: (req) => {
      const last = String([...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '');
      if (/broken/.test(last) && !req.messages.some((m) => m.role === 'tool')) {
        return { tool_calls: [{ name: 'handoff_to_human', arguments: { reason: 'damaged item', summary: 'broken sole' } }] };
      }
      return `model says: ${last}`;
    },
  });
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
  await fake.close();
});

describe('agent eval', () => {
  it('parses the shipped conversation set', () => {
    const set = parseEvalSet(readFileSync(join(__dirname, '../../eval/conversations.yaml'), 'utf8'));
    expect(set.length).toBeGreaterThanOrEqual(5);
    expect(new Set(set.map((c) => c.channel))).toEqual(new Set(['whatsapp', 'wechat-kf', 'chatwoot']));
    expect(() => parseEvalSet('- name: x\n  turns: []\n')).toThrow(/turns/);
  });

  it('turns scripted media lines into media messages', () => {
    expect(scriptedContent('image: a shoe')).toEqual({ type: 'image', media: { caption: 'a shoe' } });
    expect(scriptedContent('voice:')).toEqual({ type: 'audio', voice: true, media: {} });
    expect(scriptedContent('location: Sol')).toMatchObject({ type: 'location', name: 'Sol' });
    expect(scriptedContent('hello: there')).toEqual({ type: 'text', text: 'hello: there' });
  });

  it('plays conversations and prints answers, tool calls, handoffs and totals', async () => {
    const agent = new Agent({
      config: loadAgentConfig(undefined, {}),
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 2000 },
      redis,
      prefix,
      log: silentLogger(),
    });
    const turns = await runEval(
      agent,
      parseEvalSet(`
- name: demo
  channel: chatwoot
  turns: ["Hi!", "The sole is broken", "Do you sell laces?"]
`),
      'r1',
    );
    expect(turns.map((t) => t.output.source)).toEqual(['local', 'llm', 'llm']);
    const report = formatEval(turns);
    expect(report).toContain('== demo');
    expect(report).toContain('tool handoff_to_human: ok');
    expect(report).toContain('HANDOFF (damaged item): broken sole');
    expect(report).toContain('agent [llm, gpt-4o-mini');
    expect(report).toMatch(/turns: 3; by source: local 1, llm 2; handoffs: 1; tokens in\/out: \d+\/\d+/);
  });
});
