import { conversationId, silentLogger, type ConversationRef, type InboundMessage } from '@switchboard/core';
import { dropPrefix, startFakeOpenAI, testRedisUrl, uniquePrefix, type FakeChatRequest, type FakeOpenAI } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { CustomerErasure } from '@switchboard/record';
import { Agent, type AgentInput } from './agent.js';
import { parseAgentConfig } from './config.js';
import type { AgentConfigInput } from './config.schema.js';
import type { AgentEnv } from './env.js';
import { agentKeys, customerId } from './keys.js';

const log = silentLogger();
let redis: Redis;
let fake: FakeOpenAI;
const prefixes: string[] = [];

beforeAll(async () => {
  redis = new Redis(testRedisUrl());
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  await redis.quit();
  await fake.close();
});

const isSummaryCall = (req: FakeChatRequest) => String(req.messages[0]?.content).startsWith('You keep the memory');
beforeEach(() => {
  fake.requests.length = 0;
  fake.failNext(0);
  fake.setReply((req) => (isSummaryCall(req) ? 'SUMMARY: customer wants boots size 44, order AC-1 delayed.' : `reply ${fake.requests.length}`));
});

let seq = 0;
let users = 0;
function newRef(over: Partial<ConversationRef> = {}): ConversationRef {
  users += 1;
  return { channel: 'whatsapp', account: 'acct', userId: `mu${users}x${Date.now().toString(36)}`, ...over };
}
function turn(t: string, ref: ConversationRef): AgentInput {
  seq += 1;
  const m: InboundMessage = {
    kind: 'message',
    eventId: `me${seq}x${Date.now().toString(36)}`,
    providerMessageId: `p${seq}`,
    conversation: ref,
    sentAt: 0,
    receivedAt: 0,
    content: { type: 'text', text: t },
    author: 'customer',
  };
  return { conversationId: conversationId(ref), ref, messages: [m], now: Date.now() };
}
function makeAgent(config: AgentConfigInput, env: Partial<AgentEnv> = {}): { agent: Agent; prefix: string } {
  const prefix = uniquePrefix('agentm');
  prefixes.push(prefix);
  const cfg = parseAgentConfig({ llm: { backoffMs: 5, maxAttempts: 1 }, rateLimit: { enabled: false }, cache: { enabled: false }, ...config }, 'test', {});
  return {
    agent: new Agent({ config: cfg, env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 2000, ...env }, redis, prefix, log }),
    prefix,
  };
}
async function exchange(agent: Agent, t: string, ref: ConversationRef) {
  const input = turn(t, ref);
  const out = await agent.respond(input);
  await agent.remember(input, out);
  return out;
}

describe('memory: window, summary of older turns', () => {
  it('folds turns that leave the window into a running summary sent with later turns', async () => {
    const { agent, prefix } = makeAgent({ memory: { maxTurns: 2 } });
    const ref = newRef();
    const conv = conversationId(ref);
    await exchange(agent, 'I want the Trail boots in size 44', ref);
    await exchange(agent, 'My order AC-1 is late', ref);
    expect(fake.requests.filter(isSummaryCall)).toHaveLength(0);
    await exchange(agent, 'Can you check it?', ref);
    const summaryCalls = fake.requests.filter(isSummaryCall);
    expect(summaryCalls).toHaveLength(1);
    expect(String(summaryCalls[0]!.messages[1]?.content)).toContain('Customer: I want the Trail boots in size 44');
    expect(await redis.llen(agentKeys(prefix).memory(conv))).toBe(2);
    expect(await redis.get(agentKeys(prefix).summary(conv))).toBe('SUMMARY: customer wants boots size 44, order AC-1 delayed.');
    await agent.respond(turn('Any news?', ref));
    const last = fake.requests.at(-1)!;
    expect(String(last.messages[0]?.content)).toContain('Summary of the earlier conversation:\nSUMMARY: customer wants boots');
    expect(last.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['My order AC-1 is late', 'Can you check it?', 'Any news?']);
  });

  it('summarises a few turns at a time once the window is full, and not at all when switched off', async () => {
    const { agent, prefix } = makeAgent({ memory: { maxTurns: 8 } });
    const ref = newRef();
    const key = agentKeys(prefix).memory(conversationId(ref));
    for (let i = 1; i <= 8; i += 1) await exchange(agent, `message ${i}`, ref);
    expect(fake.requests.filter(isSummaryCall)).toHaveLength(0);
    await exchange(agent, 'message 9', ref);
    expect(fake.requests.filter(isSummaryCall)).toHaveLength(1);
    expect(await redis.llen(key)).toBe(6); // 8 - slack of 2
    await exchange(agent, 'message 10', ref);
    await exchange(agent, 'message 11', ref);
    expect(fake.requests.filter(isSummaryCall)).toHaveLength(1);
    await exchange(agent, 'message 12', ref);
    expect(fake.requests.filter(isSummaryCall)).toHaveLength(2);

    const off = makeAgent({ memory: { maxTurns: 1, summarize: false } });
    const r2 = newRef();
    await exchange(off.agent, 'one more question', r2);
    await exchange(off.agent, 'and another question', r2);
    expect(fake.requests.filter(isSummaryCall)).toHaveLength(2);
    expect(await redis.llen(agentKeys(off.prefix).memory(conversationId(r2)))).toBe(1);
  });

  it('keeps the history within the character budget', async () => {
    const { agent, prefix } = makeAgent({ memory: { maxTurns: 50, maxHistoryChars: 300 } });
    const ref = newRef();
    for (let i = 0; i < 4; i += 1) await exchange(agent, `question ${i} ${'x'.repeat(100)}`, ref);
    const kept = await redis.lrange(agentKeys(prefix).memory(conversationId(ref)), 0, -1);
    expect(kept.length).toBeLessThan(4);
    expect(kept.join('').length).toBeLessThan(900);
    expect(fake.requests.filter(isSummaryCall).length).toBeGreaterThan(0);
  });

  it('drops older turns without failing the turn when the summary call fails, and offline', async () => {
    const { agent, prefix } = makeAgent({ memory: { maxTurns: 1 } });
    const ref = newRef();
    await exchange(agent, 'first question here', ref);
    fake.setReply((req) => (isSummaryCall(req) ? 'unused' : 'ok'));
    const second = turn('second question here', ref);
    const out = await agent.respond(second);
    fake.failNext(1, 500); // the summary call
    await expect(agent.remember(second, out)).resolves.toBeUndefined();
    expect(await redis.llen(agentKeys(prefix).memory(conversationId(ref)))).toBe(1);
    expect(await redis.exists(agentKeys(prefix).summary(conversationId(ref)))).toBe(0);

    const offline = makeAgent({ memory: { maxTurns: 1 } }, { OPENAI_API_KEY: undefined });
    const r2 = newRef();
    await exchange(offline.agent, 'hello there, a question', r2);
    const before = fake.requests.length;
    await exchange(offline.agent, 'another question', r2);
    expect(fake.requests.length).toBe(before);
    expect(await redis.llen(agentKeys(offline.prefix).memory(conversationId(r2)))).toBe(1);
  });
});

describe('customer profile across conversations', () => {
  it('keeps name, language and facts the model saved; uses them in another conversation; erase removes them', async () => {
    const { agent, prefix } = makeAgent({ profile: { retentionDays: 30 } });
    fake.setReply((req) => {
      const hasTool = req.messages.some((m) => m.role === 'tool');
      if (!hasTool && String(req.messages.at(-1)?.content).includes('talla')) {
        return { tool_calls: [{ name: 'save_customer_fact', arguments: { fact: 'Calza la talla 44' } }] };
      }
      return 'Apuntado.';
    });
    const first = newRef({ channel: 'chatwoot', threadId: 'thread-1', displayName: 'Marta' });
    const out = await exchange(agent, 'Hola, siempre uso la talla 44 en zapatillas', first);
    expect(out.facts).toEqual(['Calza la talla 44']);
    const key = agentKeys(prefix).profile(customerId(first));
    const stored = JSON.parse((await redis.get(key))!) as { name: string; language: string; facts: string[] };
    expect(stored).toMatchObject({ name: 'Marta', language: 'es', facts: ['Calza la talla 44'] });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(29 * 86400);
    expect(ttl).toBeLessThanOrEqual(30 * 86400);

    // same customer, a new Chatwoot conversation: the profile comes along
    const second = { ...first, threadId: 'thread-2' };
    await agent.respond(turn('¿Tenéis las Trail en negro?', second));
    const system = String(fake.requests.at(-1)!.messages[0]?.content);
    expect(system).toContain('- Calza la talla 44');
    expect(system).toContain('Usual language: es');

    // the agent's "delete my data" path is the gateway's erasure procedure
    await new CustomerErasure({ redis, prefix, log }).erase({ channel: first.channel, customerId: first.userId }, [first]);
    expect(await redis.exists(key)).toBe(0);
    expect(await redis.exists(agentKeys(prefix).memory(conversationId(first)))).toBe(0);
  });

  it('does not store the same fact twice and caps the list', async () => {
    const { agent, prefix } = makeAgent({ profile: { maxFacts: 2 } });
    const ref = newRef();
    let n = 0;
    fake.setReply((req) => {
      if (req.messages.some((m) => m.role === 'tool')) return 'ok';
      n += 1;
      const facts = ['likes red', 'Likes RED', 'size 44', 'prefers e-mail'];
      return { tool_calls: [{ name: 'save_customer_fact', arguments: { fact: facts[n - 1] ?? 'x' } }] };
    });
    for (let i = 0; i < 4; i += 1) await exchange(agent, `message number ${i}`, ref);
    const stored = JSON.parse((await redis.get(agentKeys(prefix).profile(customerId(ref))))!) as { facts: string[] };
    expect(stored.facts).toEqual(['size 44', 'prefers e-mail']);
  });
});
