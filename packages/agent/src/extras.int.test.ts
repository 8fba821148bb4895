import { conversationId, silentLogger, type ConversationRef } from '@switchboard/core';
import { dropPrefix, startFakeOpenAI, testRedisUrl, uniquePrefix, type FakeOpenAI } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { Agent, type AgentInput } from './agent.js';
import { parseAgentConfig } from './config.js';
import type { AgentConfigInput } from './config.schema.js';

let redis: Redis;
let fake: FakeOpenAI;
const prefix = uniquePrefix('agentx');

beforeAll(async () => {
  redis = new Redis(testRedisUrl());
  fake = await startFakeOpenAI({ flag: (input) => /\bthreat\b/i.test(input) });
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.calls.length = 0;
});

let n = 0;
function turn(text: string): AgentInput {
  n += 1;
  const ref: ConversationRef = { channel: 'whatsapp', account: 'a', userId: `x${n}x${Date.now().toString(36)}` };
  return {
    conversationId: conversationId(ref),
    ref,
    now: Date.now(),
    messages: [{ kind: 'message', eventId: `xe${n}${Date.now().toString(36)}`, providerMessageId: `p${n}`, conversation: ref, sentAt: 0, receivedAt: 0, content: { type: 'text', text }, author: 'customer' }],
  };
}
function agent(config: AgentConfigInput): Agent {
  return new Agent({
    config: parseAgentConfig({ rateLimit: { enabled: false }, cache: { enabled: false }, ...config }, 't', {}),
    env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 2000 },
    redis,
    prefix,
    log: silentLogger(),
  });
}

describe('moderation endpoint', () => {
  it('refuses flagged input without a chat call, and checks answers when configured', async () => {
    const a = agent({ moderation: { api: { enabled: true, output: true } }, messages: { moderation: 'Not here, sorry.' } });
    expect(await a.respond(turn('This is a threat to your shop'))).toEqual({ reply: { text: 'Not here, sorry.' }, source: 'refusal' });
    expect(fake.requests).toHaveLength(0);
    expect(fake.calls.filter((c) => c.path === '/v1/moderations')).toHaveLength(1);
    fake.setReply(() => 'Consider this a threat.');
    expect(await a.respond(turn('What do you think of my review?'))).toMatchObject({ reply: { text: 'Not here, sorry.' }, source: 'refusal' });
    fake.setReply(() => 'Thanks for the review!');
    expect(await a.respond(turn('What do you think of my review?'))).toMatchObject({ source: 'llm', reply: { text: 'Thanks for the review!' } });
  });

  it('fails open when the endpoint errors', async () => {
    const a = agent({ moderation: { api: { enabled: true } } });
    fake.setReply(() => 'fine');
    fake.failNext(2, 500); // the moderation call and its one SDK retry
    expect((await a.respond(turn('Is the store open late on Fridays?'))).source).toBe('llm');
  });
});

describe('generate_image tool', () => {
  it('creates an image through the images API and attaches it to the reply', async () => {
    const a = agent({ tools: { generateImage: { enabled: true } } });
    fake.setReply((req) =>
      req.messages.some((m) => m.role === 'tool') ? 'Here is your sketch.' : { tool_calls: [{ name: 'generate_image', arguments: { prompt: 'a blue running shoe, side view' } }] },
    );
    const out = await a.respond(turn('Can you draw me the blue running shoe?'));
    expect(out.reply?.text).toBe('Here is your sketch.');
    expect(out.reply?.media).toEqual([{ kind: 'image', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1\/files\/image-\d+\.png$/), mimeType: 'image/png' }]);
    expect(fake.requests[0]!.tools?.map((t) => t.function.name)).toContain('generate_image');
  });

  it('is not offered unless enabled', async () => {
    const a = agent({});
    fake.setReply(() => 'no tools needed');
    await a.respond(turn('Draw me a shoe please'));
    expect(fake.requests[0]!.tools?.map((t) => t.function.name)).not.toContain('generate_image');
  });
});
