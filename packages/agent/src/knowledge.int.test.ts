/**
 * The agent's use of a knowledge base (a scripted in-memory KnowledgeSearch; the PostgreSQL one is
 * covered end to end in apps/worker knowledge.e2e): follow-up queries, account scope, the
 * search_knowledge tool's numbering, citations on and off, open grounding.
 */
import { conversationId, silentLogger, type ConversationRef, type InboundMessage } from '@switchboard/core';
import { dropPrefix, startFakeOpenAI, testRedisUrl, uniquePrefix, type FakeChatRequest, type FakeOpenAI } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { Agent, type AgentInput } from './agent.js';
import { parseAgentConfig } from './config.js';
import type { AgentConfigInput } from './config.schema.js';
import { citedNumbers, withSourceList, type KnowledgeChunk, type KnowledgeSearch } from './knowledge.js';

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

const DOCS: KnowledgeChunk[] = [
  { documentId: 'd1', title: 'Shipping', heading: 'Spain', text: 'Shipping to Spain takes 5 days.', url: 'https://shop.example/shipping', score: 0.03 },
  { documentId: 'd2', title: 'Shipping', heading: 'Germany', text: 'Shipping to Germany takes 3 days.', url: 'https://shop.example/shipping#de', score: 0.02 },
  { documentId: 'd3', title: 'Care guide', heading: 'Leather', text: 'Clean leather shoes with a dry cloth.', score: 0.01 },
];
/** Finds chunks sharing a word with the query; records what it was asked. */
class ScriptedKnowledge implements KnowledgeSearch {
  readonly calls: Array<{ query: string; account: string | undefined; k: number | undefined }> = [];
  async search(query: string, opts: { account?: string | undefined; k?: number } = {}): Promise<KnowledgeChunk[]> {
    this.calls.push({ query, account: opts.account, k: opts.k });
    const words = query.toLowerCase().match(/[a-z]{4,}/g) ?? [];
    return DOCS.filter((d) => words.some((w) => d.text.toLowerCase().includes(w))).slice(0, opts.k ?? 5);
  }
}

let seq = 0;
const ref: ConversationRef = { channel: 'telegram', account: 'bot1', userId: `u${Date.now()}`, accountId: 'shop-de' };
const text = (t: string): InboundMessage => ({
  kind: 'message', eventId: `kb${++seq}x${Date.now().toString(36)}`, providerMessageId: `m${seq}`, conversation: ref, sentAt: Date.now(), receivedAt: Date.now(), content: { type: 'text', text: t }, author: 'customer',
});
const turn = (messages: InboundMessage[]): AgentInput => ({ conversationId: conversationId(ref), ref, messages, now: Date.now() });
function agent(kb: KnowledgeSearch, config: AgentConfigInput = {}): Agent {
  const prefix = uniquePrefix('kbagent');
  prefixes.push(prefix);
  const cfg = parseAgentConfig({ rateLimit: { enabled: false }, ...config }, 'test', {});
  return new Agent({ config: cfg, env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 2000 }, redis, prefix, log, knowledge: kb });
}
const system = (req: FakeChatRequest | undefined) => String(req?.messages[0]?.content ?? '');
const toolResults = (req: FakeChatRequest) => req.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));

beforeEach(() => {
  fake.requests.length = 0;
});

test('citations: only existing numbers count; the list is Markdown links (plain title without a URL)', () => {
  expect(citedNumbers('a [2] b [1] c [2] d [9]', 3)).toEqual([2, 1]);
  expect(withSourceList('Yes [3], and [7].', DOCS, 'Sources:')).toBe('Yes [3], and.\n\nSources:\n[3] Care guide');
  expect(withSourceList('No citation.', DOCS, 'Sources:')).toBe('No citation.');
  expect(withSourceList('Ok [1]', DOCS, 'Fuentes:')).toBe('Ok [1]\n\nFuentes:\n[1] [Shipping](https://shop.example/shipping)');
});

test('a follow-up is searched with the previous customer message, in the gateway account scope; search_knowledge continues the numbering', async () => {
  const kb = new ScriptedKnowledge();
  const a = agent(kb, { knowledge: { k: 2 } });
  fake.setReply(() => 'Spain takes 5 days [1].');
  const first = turn([text('How long does shipping to Spain take?')]);
  const out1 = await a.respond(first);
  await a.remember(first, out1);
  expect(kb.calls[0]).toEqual({ query: 'How long does shipping to Spain take?', account: 'shop-de', k: 2 });
  expect(system(fake.requests[0])).toContain('[1] Shipping › Spain (https://shop.example/shipping)\nShipping to Spain takes 5 days.');
  expect(out1.reply?.text).toBe('Spain takes 5 days [1].\n\nSources:\n[1] [Shipping](https://shop.example/shipping)');

  fake.requests.length = 0;
  fake.setReply((req) => (toolResults(req).length ? `Germany: 3 days [2], leather [3].` : { tool_calls: [{ name: 'search_knowledge', arguments: { query: 'leather care' } }] }));
  const out2 = await a.respond(turn([text('and for Germany?')]));
  expect(kb.calls[1]?.query).toBe('and for Germany?\nHow long does shipping to Spain take?');
  expect(kb.calls[2]).toEqual({ query: 'leather care', account: 'shop-de', k: 2 });
  expect(toolResults(fake.requests[1]!)[0]).toMatch(/^\[3\] Care guide › Leather\nClean leather shoes/);
  expect(out2.reply?.text).toBe('Germany: 3 days [2], leather [3].\n\nSources:\n[2] [Shipping](https://shop.example/shipping#de)\n[3] Care guide');
  // the documents the turn's prompt and tool results carried, one per document (for the record)
  expect(out1.sources).toEqual([
    { documentId: 'd1', title: 'Shipping', url: 'https://shop.example/shipping' },
    { documentId: 'd2', title: 'Shipping', url: 'https://shop.example/shipping#de' },
  ]);
  expect(out2.sources).toEqual([
    { documentId: 'd1', title: 'Shipping', url: 'https://shop.example/shipping' },
    { documentId: 'd2', title: 'Shipping', url: 'https://shop.example/shipping#de' },
    { documentId: 'd3', title: 'Care guide' },
  ]);
});

test('citations off: the model is told not to cite and stray markers are removed; open grounding with no hits still asks the model', async () => {
  const kb = new ScriptedKnowledge();
  fake.setReply(() => 'Five days [1].');
  const out = await agent(kb, { knowledge: { citations: false } }).respond(turn([text('Shipping to Spain?')]));
  expect(system(fake.requests[0])).toContain('Do not mention source numbers.');
  expect(out.reply?.text).toBe('Five days.');
  fake.requests.length = 0;
  fake.setReply(() => 'Hello there.');
  const open = await agent(kb).respond(turn([text('Something unrelated entirely?')]));
  expect(open).toMatchObject({ source: 'llm', reply: { text: 'Hello there.' } });
  expect(system(fake.requests[0])).not.toContain('Sources from the knowledge base');
});

test('knowledge.enabled=false: no search, no tool', async () => {
  const kb = new ScriptedKnowledge();
  fake.setReply(() => 'ok');
  await agent(kb, { knowledge: { enabled: false } }).respond(turn([text('Shipping to Spain?')]));
  expect(kb.calls).toHaveLength(0);
  expect(fake.requests[0]?.tools?.map((t) => t.function.name) ?? []).not.toContain('search_knowledge');
});

test('preview: the answer of a turn (same prompt, sources, citations) with nothing stored, no history read, outside tools not run', async () => {
  const kb = new ScriptedKnowledge();
  const prefix = uniquePrefix('kbpreview');
  prefixes.push(prefix);
  const cfg = parseAgentConfig(
    {
      knowledge: { k: 2 },
      variants: [{ name: 'a', weight: 1 }],
      tools: { http: [{ name: 'order_status', description: 'Looks an order up', url: 'http://127.0.0.1:9/orders', method: 'GET', parameters: { type: 'object', properties: {} } }] },
    },
    'test',
    {},
  );
  const a = new Agent({ config: cfg, env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 2000 }, redis, prefix, log, knowledge: kb });
  // the same question as a real turn and as a preview: the model sees the same system prompt
  fake.setReply(() => 'Spain takes 5 days [1].');
  const real = await a.respond(turn([text('How long does shipping to Spain take?')]));
  const realSystem = system(fake.requests[0]);
  await redis.eval("for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0", 0, `${prefix}*`);
  fake.requests.length = 0;
  fake.setReply((req) => (toolResults(req).length ? 'Spain takes 5 days [1].' : { tool_calls: [{ name: 'order_status', arguments: {} }] }));
  const preview = await a.preview(turn([text('How long does shipping to Spain take?')]));
  expect(preview.reply?.text).toBe(real.reply?.text);
  expect(preview.reply?.text).toBe('Spain takes 5 days [1].\n\nSources:\n[1] [Shipping](https://shop.example/shipping)');
  expect(preview.citations).toEqual([{ n: 1, documentId: 'd1', title: 'Shipping', heading: 'Spain', url: 'https://shop.example/shipping' }]);
  expect(system(fake.requests[0])).toContain('[1] Shipping › Spain (https://shop.example/shipping)\nShipping to Spain takes 5 days.');
  const withoutClock = (prompt: string) => prompt.replace(/Current date and time: .*/, '');
  expect(withoutClock(system(fake.requests[0]))).toBe(withoutClock(realSystem));
  expect(fake.requests[0]?.tools?.map((t) => t.function.name)).toEqual(expect.arrayContaining(['order_status', 'search_knowledge']));
  expect(toolResults(fake.requests[1]!)[0]).toMatch(/preview of an answer: the tool "order_status" cannot be called/);

  // strict grounding and nothing found: the "don't know" answer and the handoff, no model call, nothing recorded
  fake.requests.length = 0;
  const strict = new Agent({ config: parseAgentConfig({ knowledge: { grounding: 'strict' } }, 'test', {}), env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 2000 }, redis, prefix, log, knowledge: kb });
  const unknown = await strict.preview(turn([text('Do you repair helicopters?')]));
  expect(unknown).toMatchObject({ source: 'local', handoff: { reason: 'knowledge_gap' } });
  expect(unknown.reply?.text).toMatch(/colleague/);
  expect(fake.requests).toHaveLength(0);
  // a preview writes nothing: no rate-limit count, variant, memory, failure streak or unanswered question
  expect(await redis.keys(`${prefix}*`)).toEqual([]);
});
