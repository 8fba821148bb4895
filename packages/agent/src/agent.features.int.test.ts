import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conversationId, silentLogger, type ConversationRef, type InboundMessage } from '@switchboard/core';
import { dropPrefix, startFakeOpenAI, testRedisUrl, uniquePrefix, type FakeChatRequest, type FakeOpenAI } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { CustomerErasure } from '@switchboard/record';
import { Registry } from 'prom-client';
import { Agent, type AgentInput } from './agent.js';
import { parseAgentConfig } from './config.js';
import type { AgentConfigInput } from './config.schema.js';
import { agentKeys } from './keys.js';
import { prometheusAgentMetrics, type AgentMetrics } from './metrics.js';

const log = silentLogger();
let redis: Redis;
let fake: FakeOpenAI;
let business: Server;
let businessUrl = '';
const businessRequests: Array<{ method: string; url: string; auth: string | undefined; body: string }> = [];
let businessStatus = 200;
const prefixes: string[] = [];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString('utf8')));
    req.on('end', () => resolve(s));
  });
}

beforeAll(async () => {
  redis = new Redis(testRedisUrl());
  fake = await startFakeOpenAI();
  // A fake order system: the business API an HTTP tool declared in config calls.
  business = createServer((req, res) => {
    void readBody(req).then((body) => {
      if (req.url === '/hang') return; // never answers (the tool's timeout must fire)
      businessRequests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      if (businessStatus !== 200) {
        res.writeHead(businessStatus, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'order service down' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ order: decodeURIComponent((req.url ?? '').split('/').pop()?.split('?')[0] ?? ''), status: 'shipped', eta: '2026-11-24' }));
    });
  });
  await new Promise<void>((r) => business.listen(0, '127.0.0.1', r));
  businessUrl = `http://127.0.0.1:${(business.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  await redis.quit();
  await fake.close();
  business.closeAllConnections();
  await new Promise<void>((r) => business.close(() => r()));
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.failNext(0);
  businessRequests.length = 0;
  businessStatus = 200;
  fake.setReply(() => 'Generic answer from the model.');
});

let seq = 0;
let users = 0;
function newRef(channel: ConversationRef['channel'] = 'whatsapp', displayName?: string): ConversationRef {
  users += 1;
  return { channel, account: 'acct1', userId: `user${users}x${Date.now().toString(36)}`, ...(channel === 'chatwoot' ? { threadId: `t${users}` } : {}), ...(displayName ? { displayName } : {}) };
}
function text(t: string, ref: ConversationRef): InboundMessage {
  seq += 1;
  return { kind: 'message', eventId: `fe${seq}x${Date.now().toString(36)}`, providerMessageId: `p${seq}`, conversation: ref, sentAt: 0, receivedAt: 0, content: { type: 'text', text: t }, author: 'customer' };
}
function turn(t: string, ref: ConversationRef): AgentInput {
  return { conversationId: conversationId(ref), ref, messages: [text(t, ref)], now: Date.now() };
}
function makeAgent(config: AgentConfigInput = {}, extra: { metrics?: AgentMetrics; env?: Record<string, string> } = {}): { agent: Agent; prefix: string } {
  const prefix = uniquePrefix('agentf');
  prefixes.push(prefix);
  const cfg = parseAgentConfig({ llm: { backoffMs: 5, maxAttempts: 2 }, rateLimit: { enabled: false }, ...config }, 'test', extra.env ?? {});
  const agent = new Agent({
    config: cfg,
    env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 2000 },
    redis,
    prefix,
    log,
    ...(extra.metrics ? { metrics: extra.metrics } : {}),
  });
  return { agent, prefix };
}
const toolResults = (req: FakeChatRequest | undefined) => (req?.messages ?? []).filter((m) => m.role === 'tool').map((m) => String(m.content));

describe('tools', () => {
  const orderTool = () => ({
    tools: {
      http: [
        {
          name: 'order_status',
          description: 'Look up the status of an order by its id',
          method: 'GET' as const,
          url: `${businessUrl}/api/orders/{orderId}`,
          headers: { Authorization: 'Bearer ${ORDERS_TOKEN}' },
          parameters: { type: 'object' as const, properties: { orderId: { type: 'string' }, lang: { type: 'string' } }, required: ['orderId'] },
          timeoutMs: 1000,
        },
      ],
    },
  });

  it('calls an HTTP tool declared in config (URL template, query, header from env) and answers with its result', async () => {
    const { agent } = makeAgent(orderTool(), { env: { ORDERS_TOKEN: 'tok-123' } });
    fake.setReply((req) => {
      const results = toolResults(req);
      if (!results.length) return { tool_calls: [{ name: 'order_status', arguments: { orderId: 'A1/2', lang: 'es' } }] };
      const data = JSON.parse(results[0]!) as { status: string; eta: string };
      return `Your order is ${data.status}, arriving ${data.eta}.`;
    });
    const ref = newRef();
    const out = await agent.respond(turn('Where is order A1/2?', ref));
    expect(out).toMatchObject({ source: 'llm', reply: { text: 'Your order is shipped, arriving 2026-11-24.' } });
    expect(out.toolCalls).toEqual([expect.objectContaining({ name: 'order_status', ok: true })]);
    expect(businessRequests).toEqual([{ method: 'GET', url: '/api/orders/A1%2F2?lang=es', auth: 'Bearer tok-123', body: '' }]);
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0]!.tools?.map((t) => t.function.name)).toEqual(['handoff_to_human', 'send_options', 'save_customer_fact', 'order_status']);
    expect(out.usage!.inputTokens).toBeGreaterThan(0);
  });

  it('tells the model when the business API fails, and still answers', async () => {
    const { agent } = makeAgent(orderTool(), { env: { ORDERS_TOKEN: 'tok-123' } });
    businessStatus = 503;
    fake.setReply((req) => (toolResults(req).length ? `Lookup failed: ${toolResults(req)[0]}` : { tool_calls: [{ name: 'order_status', arguments: { orderId: 'B7' } }] }));
    const out = await agent.respond(turn('Status of B7?', newRef()));
    expect(out.source).toBe('llm');
    expect(out.reply?.text).toContain('HTTP 503');
    expect(out.toolCalls?.[0]).toMatchObject({ ok: false });
  });

  it('POST tools send the other arguments as a JSON body; a hanging API times out and the model is told', async () => {
    const { agent } = makeAgent({
      tools: {
        http: [
          {
            name: 'book_fitting',
            description: 'Book a fitting appointment in a store',
            method: 'POST',
            url: `${businessUrl}/api/stores/{storeId}/bookings`,
            parameters: { type: 'object', properties: { storeId: { type: 'string' }, day: { type: 'string' }, people: { type: 'integer' } }, required: ['storeId', 'day'] },
          },
          { name: 'slow_api', description: 'Never answers', url: `${businessUrl}/hang`, timeoutMs: 200 },
        ],
      },
    });
    fake.setReply((req) =>
      toolResults(req).length ? `results: ${toolResults(req).join(' | ')}` : { tool_calls: [{ name: 'book_fitting', arguments: { storeId: 'MAD-1', day: '2026-11-28', people: 2 } }, { name: 'slow_api', arguments: {} }] },
    );
    const out = await agent.respond(turn('Book me a fitting in Madrid on Saturday for two', newRef()));
    expect(businessRequests[0]).toEqual({ method: 'POST', url: '/api/stores/MAD-1/bookings', auth: undefined, body: '{"day":"2026-11-28","people":2}' });
    expect(out.toolCalls?.map((t) => [t.name, t.ok])).toEqual([
      ['book_fitting', true],
      ['slow_api', false],
    ]);
    expect(out.reply?.text).toContain('timed out after 200 ms');
  });

  it.each(['whatsapp', 'wechat-kf', 'chatwoot'] as const)('handoff_to_human on %s returns the handoff decision and a reply', async (channel) => {
    const { agent } = makeAgent({ messages: { handoff: 'A colleague will take over.' } });
    fake.setReply(() => ({ tool_calls: [{ name: 'handoff_to_human', arguments: { reason: 'complaint', summary: 'Customer is upset about a late delivery.' } }] }));
    const out = await agent.respond(turn('This is the third time my delivery is late, I am furious', newRef(channel)));
    expect(out).toMatchObject({
      source: 'llm',
      reply: { text: 'A colleague will take over.' },
      handoff: { reason: 'complaint', summary: 'Customer is upset about a late delivery.' },
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('send_options puts options on the reply', async () => {
    const { agent } = makeAgent();
    fake.setReply((req) =>
      toolResults(req).length
        ? 'Which size do you need?'
        : { tool_calls: [{ name: 'send_options', arguments: { options: [{ id: 's', title: 'S' }, { id: 'm', title: 'M' }, { id: 'l', title: 'L' }] } }] },
    );
    const out = await agent.respond(turn('I want the red jacket', newRef()));
    expect(out.reply).toEqual({ text: 'Which size do you need?', options: [{ id: 's', title: 'S' }, { id: 'm', title: 'M' }, { id: 'l', title: 'L' }] });
  });
});

describe('fast paths', () => {
  const faqConfig: AgentConfigInput = {
    faq: [{ id: 'hours', match: { en: { keywords: ['opening hours'] }, es: { keywords: ['horario'] } }, answer: { en: 'We open 9–18.', es: 'Abrimos de 9 a 18.' } }],
  };

  it('FAQ entries, greetings, thanks and handoff phrases make no LLM call', async () => {
    const { agent } = makeAgent(faqConfig);
    const ref = newRef('wechat-kf', 'Wei');
    expect(await agent.respond(turn('What are your opening hours?', ref))).toEqual({ reply: { text: 'We open 9–18.' }, source: 'faq' });
    expect(await agent.respond(turn('¿Cuál es el horario?', ref))).toEqual({ reply: { text: 'Abrimos de 9 a 18.' }, source: 'faq' });
    expect(await agent.respond(turn('你好', ref))).toEqual({ reply: { text: '您好 Wei！请问有什么可以帮您？' }, source: 'local' });
    expect(await agent.respond(turn('thanks!', ref))).toMatchObject({ source: 'local' });
    expect(await agent.respond(turn('I want to talk to a human', ref))).toMatchObject({ source: 'local', handoff: { reason: 'customer_request' } });
    expect(fake.requests).toHaveLength(0);
  });

  it('the second identical FAQ-like question hits the cache; personal questions never do', async () => {
    const { agent } = makeAgent();
    fake.setReply(() => 'Yes, we ship to Canada in 5–7 days.');
    const first = await agent.respond(turn('Do you ship to Canada?', newRef()));
    expect(first.source).toBe('llm');
    const second = await agent.respond(turn('do you ship to canada', newRef()));
    expect(second).toEqual({ reply: { text: 'Yes, we ship to Canada in 5–7 days.' }, source: 'cache' });
    expect(fake.requests).toHaveLength(1);
    await agent.respond(turn('Where is my parcel?', newRef()));
    await agent.respond(turn('Where is my parcel?', newRef()));
    expect(fake.requests).toHaveLength(3);
  });

  it('does not cache tool-using turns', async () => {
    const { agent } = makeAgent();
    fake.setReply((req) => (toolResults(req).length ? 'Pick one.' : { tool_calls: [{ name: 'send_options', arguments: { options: [{ id: 'a', title: 'A' }] } }] }));
    await agent.respond(turn('Which colours are there?', newRef()));
    const again = await agent.respond(turn('Which colours are there?', newRef()));
    expect(again.source).toBe('llm');
  });
});

describe('guard rails and failures', () => {
  it('rate limit exceeded → one notice, then silence, no LLM call; a retried turn gets the same decision', async () => {
    const { agent } = makeAgent({ cache: { enabled: false }, rateLimit: { enabled: true, points: 2, durationSeconds: 60 }, messages: { rateLimited: 'Slow down please.' } });
    const ref = newRef();
    const t1 = turn('first question about sizes', ref);
    expect((await agent.respond(t1)).source).toBe('llm');
    expect((await agent.respond(t1)).source).toBe('llm'); // same turn again: no extra point consumed
    expect((await agent.respond(turn('second question about colours', ref))).source).toBe('llm');
    const t3 = turn('third question about prices', ref);
    expect(await agent.respond(t3)).toEqual({ reply: { text: 'Slow down please.' }, source: 'rate_limited' });
    expect(await agent.respond(t3)).toEqual({ reply: { text: 'Slow down please.' }, source: 'rate_limited' });
    expect(await agent.respond(turn('fourth question', ref))).toEqual({ reply: null, source: 'rate_limited' });
    expect(fake.requests).toHaveLength(3);
    expect((await agent.respond(turn('another customer asks', newRef()))).source).toBe('llm');
  });

  it('LLM down → apology, then handoff after the configured count; a repeated turn counts once; success resets', async () => {
    const { agent } = makeAgent({ failures: { handoffAfter: 2 }, messages: { apology: 'Sorry!', handoff: 'Passing you to a person.' } });
    const ref = newRef();
    fake.failNext(100, 500);
    const t1 = turn('Can you check the warranty terms?', ref);
    expect(await agent.respond(t1)).toEqual({ reply: { text: 'Sorry!' }, source: 'fallback' });
    expect(await agent.respond(t1)).toEqual({ reply: { text: 'Sorry!' }, source: 'fallback' });
    const out = await agent.respond(turn('Hello?? Anyone there? The warranty question', ref));
    expect(out).toMatchObject({ reply: { text: 'Passing you to a person.' }, source: 'fallback', handoff: { reason: 'llm_unavailable' } });
    fake.failNext(0);
    const ref2 = newRef();
    fake.failNext(2, 500); // both attempts of the first turn fail
    expect((await agent.respond(turn('Question one about warranty', ref2))).source).toBe('fallback');
    expect((await agent.respond(turn('Question two about warranty', ref2))).source).toBe('llm');
    fake.failNext(2, 500);
    expect((await agent.respond(turn('Question three about warranty', ref2))).handoff).toBeUndefined();
  });

  it('moderation: listed input words get the configured answer without LLM; listed output words are replaced', async () => {
    const { agent } = makeAgent({ moderation: { input: { en: ['casino'] }, output: { en: ['guaranteed profit'] } }, messages: { moderation: "I can't help with that." } });
    expect(await agent.respond(turn('Tell me about online CASINO games', newRef()))).toEqual({ reply: { text: "I can't help with that." }, source: 'refusal' });
    expect(fake.requests).toHaveLength(0);
    fake.setReply(() => 'This fund has a guaranteed profit of 20%.');
    expect(await agent.respond(turn('Which fund do you recommend?', newRef()))).toMatchObject({ reply: { text: "I can't help with that." }, source: 'refusal' });
  });

  it('cuts replies to the channel maximum', async () => {
    const { agent } = makeAgent({ channels: { 'wechat-kf': { maxReplyChars: 60 } }, cache: { enabled: false } });
    fake.setReply(() => 'This is a fairly long first sentence of the answer. And here is a second one that goes beyond.');
    const out = await agent.respond(turn('Tell me about the product', newRef('wechat-kf')));
    expect(out.reply!.text.length).toBeLessThanOrEqual(60);
    expect(out.reply!.text).toBe('This is a fairly long first sentence of the answer.…');
  });

  it('reports tokens and latency per model to the metrics hooks and Prometheus', async () => {
    const registry = new Registry();
    const calls: string[] = [];
    const prom = prometheusAgentMetrics(registry);
    const { agent } = makeAgent({ cache: { enabled: false } }, {
      metrics: {
        llmCall: (e) => {
          calls.push(`${e.model}:${e.ok}`);
          prom.llmCall?.(e);
        },
        turn: (e) => prom.turn?.(e),
      },
    });
    await agent.respond(turn('What materials do you use?', newRef()));
    expect(calls).toEqual(['gpt-4o-mini:true']);
    const text = await registry.metrics();
    expect(text).toMatch(/agent_llm_tokens_total\{model="gpt-4o-mini",direction="in",variant=""\} [1-9]/);
    expect(text).toMatch(/agent_llm_latency_seconds_count\{model="gpt-4o-mini"\} 1/);
    expect(text).toMatch(/agent_turns_total\{channel="whatsapp",source="llm",handoff="false",variant=""\} 1/);
  });

  it('the erasure procedure forgets a customer’s conversation memory and counters', async () => {
    const { agent, prefix } = makeAgent({ rateLimit: { enabled: true } });
    const ref = newRef();
    const t = turn('Please remember my size is M', ref);
    await agent.remember(t, await agent.respond(t));
    const key = agentKeys(prefix).memory(conversationId(ref));
    expect(await redis.exists(key)).toBe(1);
    await new CustomerErasure({ redis, prefix, log }).erase({ channel: ref.channel, customerId: ref.userId }, [ref]);
    expect(await redis.exists(key)).toBe(0);
    const left = await redis.keys(`${prefix}*`);
    expect(left.filter((k) => k.includes(':rl:') || k.includes(':mem:') || k.includes(':fail:'))).toEqual([]);
  });
});

describe('routing and A/B variants', () => {
  it('sends long, attachment and keyword turns to the strong model, others to the cheap one', async () => {
    const { agent } = makeAgent({ cache: { enabled: false }, routing: { strongModel: 'gpt-4o', minChars: 80, keywords: { en: ['complaint'] } } });
    const simple = await agent.respond(turn('Do you have size 44?', newRef()));
    expect(simple).toMatchObject({ route: 'simple', usage: { model: 'gpt-4o-mini' } });
    const long = await agent.respond(turn('I ordered two pairs last week and one of them arrived with a broken sole, what should I do now?', newRef()));
    expect(long).toMatchObject({ route: 'length', usage: { model: 'gpt-4o' } });
    expect(await agent.respond(turn('I want to file a complaint', newRef()))).toMatchObject({ route: 'keyword' });
    const ref = newRef();
    const withImage: AgentInput = {
      conversationId: conversationId(ref),
      ref,
      now: Date.now(),
      messages: [{ ...text('x', ref), content: { type: 'image', media: { caption: 'is this the right box?' } } }],
    };
    expect(await agent.respond(withImage)).toMatchObject({ route: 'attachments', usage: { model: 'gpt-4o' } });
    expect(fake.requests.map((r) => r.model)).toEqual(['gpt-4o-mini', 'gpt-4o', 'gpt-4o', 'gpt-4o']);
  });

  it('asks the cheap model to classify when configured, and escalates to the strong model when tools are needed', async () => {
    const { agent } = makeAgent({ cache: { enabled: false }, routing: { strongModel: 'gpt-4o', classifier: true, escalateOnTools: true } });
    fake.setReply((req) => {
      const system = String(req.messages[0]?.content);
      if (system.startsWith('Classify')) return String(req.messages[1]?.content).includes('warranty') ? 'COMPLEX' : 'SIMPLE';
      if (!toolResults(req).length && String(req.messages.at(-1)?.content).includes('size')) {
        return { tool_calls: [{ name: 'send_options', arguments: { options: [{ id: '42', title: '42' }] } }] };
      }
      return `answer by ${req.model}`;
    });
    expect(await agent.respond(turn('How does the warranty work for resoled boots?', newRef()))).toMatchObject({ route: 'classifier', reply: { text: 'answer by gpt-4o' } });
    const out = await agent.respond(turn('Which size should I pick?', newRef()));
    expect(out).toMatchObject({ route: 'simple', reply: { text: 'answer by gpt-4o' } });
    expect(fake.requests.map((r) => r.model)).toEqual(['gpt-4o-mini', 'gpt-4o', 'gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o']);
  });

  it('assigns each conversation a variant by weight, keeps it, and uses its model and prompt', async () => {
    const { agent, prefix } = makeAgent({
      cache: { enabled: false },
      variants: [
        { name: 'control', weight: 1 },
        { name: 'friendly', weight: 1, model: 'gpt-4o', system: 'You are an extra friendly assistant.' },
      ],
    });
    const seen = new Map<string, string>();
    for (let i = 0; i < 20; i += 1) {
      const ref = newRef();
      const out = await agent.respond(turn('Do you sell socks too?', ref));
      expect(out.variant).toMatch(/^(control|friendly)$/);
      seen.set(conversationId(ref), out.variant!);
      const again = await agent.respond(turn('And belts?', ref));
      expect(again.variant).toBe(out.variant);
      expect(await redis.get(agentKeys(prefix).variant(conversationId(ref)))).toBe(out.variant);
      const req = fake.requests.at(-1)!;
      if (out.variant === 'friendly') {
        expect(req.model).toBe('gpt-4o');
        expect(String(req.messages[0]?.content)).toContain('extra friendly');
      } else {
        expect(req.model).toBe('gpt-4o-mini');
      }
    }
    expect(new Set(seen.values()).size).toBe(2);
  });
});
