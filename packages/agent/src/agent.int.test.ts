import { conversationId, silentLogger, type ConversationRef, type InboundMessage, type MessageContent } from '@switchboard/core';
import { dropPrefix, startFakeOpenAI, testRedisUrl, uniquePrefix, type FakeOpenAI } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { Agent, type AgentInput } from './agent.js';
import { parseAgentConfig, loadAgentConfig } from './config.js';
import type { AgentConfigInput } from './config.schema.js';
import type { AgentEnv } from './env.js';
import { agentKeys } from './keys.js';
import type { ChatFn } from './llm.js';

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
beforeEach(() => {
  fake.requests.length = 0;
  fake.setDelay(0);
  fake.failNext(0);
  fake.setReply((req) => {
    const last = [...req.messages].reverse().find((m) => m.role === 'user');
    return `fake reply to: ${typeof last?.content === 'string' ? last.content : ''}`;
  });
});

let seq = 0;
const ref: ConversationRef = { channel: 'whatsapp', account: '1065550001', userId: '34600111222', displayName: 'Lucía' };

function msg(content: MessageContent, r: ConversationRef = ref): InboundMessage {
  seq += 1;
  return {
    kind: 'message',
    eventId: `ev${seq}x${Date.now().toString(36)}`,
    providerMessageId: `wamid.${seq}`,
    conversation: r,
    sentAt: Date.now(),
    receivedAt: Date.now(),
    content,
    author: 'customer',
  };
}
const text = (t: string, r?: ConversationRef) => msg({ type: 'text', text: t }, r);
function turn(messages: InboundMessage[], r: ConversationRef = ref): AgentInput {
  return { conversationId: conversationId(r), ref: r, messages, now: Date.UTC(2026, 10, 22, 9, 30) };
}

function env(over: Partial<AgentEnv> = {}): AgentEnv {
  return { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 2000, ...over };
}
function agent(config: AgentConfigInput = {}, envOver: Partial<AgentEnv> = {}): { agent: Agent; prefix: string } {
  const prefix = uniquePrefix('agent');
  prefixes.push(prefix);
  const cfg = parseAgentConfig({ llm: { backoffMs: 5, ...(config.llm ?? {}) }, rateLimit: { enabled: false }, ...config }, 'test', {});
  return { agent: new Agent({ config: cfg, env: env(envOver), redis, prefix, log }), prefix };
}

describe('Agent (issue 2 contract) with real Redis and the fake OpenAI server', () => {
  it('answers through chat completions with the system prompt, channel style, date and display name', async () => {
    const { agent: a } = agent({ cache: { enabled: false } });
    expect(a.online).toBe(true);
    const out = await a.respond(turn([text('Where can I find the price list for the blue model?')]));
    expect(out.source).toBe('llm');
    expect(out.reply?.text).toBe('fake reply to: Where can I find the price list for the blue model?');
    expect(out.usage).toMatchObject({ model: 'gpt-4o-mini' });
    expect(out.usage!.inputTokens).toBeGreaterThan(0);
    expect(out.usage!.outputTokens).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(1);
    const req = fake.requests[0]!;
    expect(req.model).toBe('gpt-4o-mini');
    const system = String(req.messages[0]?.content);
    expect(req.messages[0]?.role).toBe('system');
    expect(system).toContain('WhatsApp');
    expect(system).toContain('Sunday, 22 November 2026');
    expect(system).toContain('Lucía');
    expect(req.tools?.map((t) => t.function.name)).toEqual(['handoff_to_human', 'send_options', 'save_customer_fact']);
  });

  it('remembers turns in Redis and sends them as history on the next turn; respond itself writes nothing', async () => {
    const { agent: a, prefix } = agent({ cache: { enabled: false }, memory: { maxTurns: 2, ttlSeconds: 600 } });
    const r = { ...ref, userId: 'mem-user-1' };
    const key = agentKeys(prefix).memory(conversationId(r));
    const t1 = turn([text('I would like to change the delivery address', r), msg({ type: 'audio', voice: true, media: { mediaId: 'm1' } }, r)], r);
    const o1 = await a.respond(t1);
    expect(await redis.exists(key)).toBe(0);
    await a.remember(t1, o1);
    await a.remember(t1, o1); // idempotent per turn
    expect(await redis.llen(key)).toBe(1);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(500);

    const t2 = turn([text('The new one is Calle Mayor 5', r)], r);
    const o2 = await a.respond(t2);
    const sent = fake.requests[1]!.messages;
    expect(sent.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(sent[1]?.content).toBe('I would like to change the delivery address\n[voice message]');
    expect(sent[2]?.content).toBe(o1.reply?.text);
    await a.remember(t2, o2);
    const t3 = turn([text('Thanks, and can it arrive on Friday?', r)], r);
    await a.remember(t3, await a.respond(t3));
    expect(await redis.llen(key)).toBe(2); // last N turns only
  });

  it('retries 5xx and 429 within the turn and then answers', async () => {
    const { agent: a } = agent({ cache: { enabled: false } });
    fake.failNext(2, 503);
    const out = await a.respond(turn([text('Do you ship to the Canary Islands?', { ...ref, userId: 'retry-1' })], { ...ref, userId: 'retry-1' }));
    expect(out.source).toBe('llm');
    expect(fake.calls.filter((c) => c.path === '/v1/chat/completions').length).toBeGreaterThanOrEqual(3);
    fake.failNext(1, 429);
    const r2 = { ...ref, userId: 'retry-2' };
    expect((await a.respond(turn([text('Do you ship to Portugal as well?', r2)], r2))).source).toBe('llm');
  });

  it('answers with the configured apology when the LLM times out on every attempt', async () => {
    const { agent: a } = agent({ llm: { maxAttempts: 2 }, messages: { apology: 'Sorry, technical trouble.' } }, { LLM_TIMEOUT_MS: 150 });
    fake.setDelay(1000);
    const r = { ...ref, userId: 'timeout-1' };
    const out = await a.respond(turn([text('Can I pay with a bank transfer?', r)], r));
    expect(out).toMatchObject({ source: 'fallback', reply: { text: 'Sorry, technical trouble.' } });
    expect(out.handoff).toBeUndefined();
  });

  it('a model that never answers: the apology within llm.firstReplyBudgetMs, the late answer ignored', async () => {
    const prefix = uniquePrefix('agent');
    prefixes.push(prefix);
    const cfg = parseAgentConfig({ llm: { firstReplyBudgetMs: 1000, maxAttempts: 1 }, rateLimit: { enabled: false }, cache: { enabled: false }, messages: { apology: 'Sorry, slow today.' } }, 'test', {});
    let lateAnswers = 0;
    // an injected chat that ignores its deadline (a hung connection the per-request timeout missed)
    const hanging: ChatFn = () =>
      new Promise((resolve) => {
        setTimeout(() => {
          lateAnswers += 1;
          resolve({ message: { role: 'assistant', content: 'a late answer', refusal: null }, model: 'm', inputTokens: 1, outputTokens: 1, latencyMs: 1, attempts: 1 });
        }, 2500);
      });
    const a = new Agent({ config: cfg, env: env(), redis, prefix, log, chat: hanging });
    const r = { ...ref, userId: 'budget-1' };
    const started = Date.now();
    const out = await a.respond(turn([text('Is the blue model waterproof?', r)], r));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(out).toMatchObject({ source: 'fallback', reply: { text: 'Sorry, slow today.' } });
    await new Promise((res) => setTimeout(res, 1800));
    expect(lateAnswers).toBe(1);
  });

  it('llm.firstReplyBudgetMs is at most 45 s', () => {
    expect(() => parseAgentConfig({ llm: { firstReplyBudgetMs: 60_000 } }, 'test', {})).toThrow(/firstReplyBudgetMs/);
    expect(parseAgentConfig({}, 'test', {}).llm.firstReplyBudgetMs).toBe(40_000);
  });

  it('offline (no OPENAI_API_KEY): FAQ and greeting answered, otherwise one offline notice, no LLM call', async () => {
    const prefix = uniquePrefix('agent');
    prefixes.push(prefix);
    const a = new Agent({ config: loadAgentConfig(undefined, {}), env: env({ OPENAI_API_KEY: undefined }), redis, prefix, log });
    expect(a.online).toBe(false);
    const r = { ...ref, userId: 'offline-1', displayName: undefined };
    expect(await a.respond(turn([text('Are you a bot?', r)], r))).toMatchObject({ source: 'faq' });
    expect(await a.respond(turn([text('hola!', r)], r))).toMatchObject({ source: 'local', reply: { text: '¡Hola! ¿En qué puedo ayudarte?' } });
    const out = await a.respond(turn([text('Where is my parcel? It should have arrived yesterday', r)], r));
    expect(out.source).toBe('offline');
    expect(out.reply?.text).toMatch(/offline/);
    expect(fake.requests).toHaveLength(0);
  });

  it('says nothing for a reaction-only turn', async () => {
    const { agent: a } = agent();
    const out = await a.respond(turn([msg({ type: 'reaction', targetMessageId: 'wamid.x', emoji: '👍' })]));
    expect(out).toEqual({ reply: null, source: 'local' });
    expect(fake.requests).toHaveLength(0);
  });
});
