import { silentLogger } from '@switchboard/core';
import type { ChatCompletionMessage } from 'openai/resources/chat/completions';
import type { ChatFn, ChatRequest } from '../llm.js';
import { handoffToHumanTool, sendOptionsTool } from './builtins.js';
import { runToolLoop, toolDefinitions } from './tool-loop.js';
import type { AgentTool } from './tool.types.js';

/** A scripted model at the ChatFn boundary: each step returns the next scripted message. */
function scriptedModel(steps: Array<(req: ChatRequest) => Partial<ChatCompletionMessage>>): { chat: ChatFn; requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  const chat: ChatFn = async (req) => {
    requests.push({ ...req, messages: [...req.messages] });
    const step = steps[Math.min(requests.length - 1, steps.length - 1)]!;
    const message = { role: 'assistant', content: null, refusal: null, ...step(req) } as ChatCompletionMessage;
    return { message, model: req.model, inputTokens: 10, outputTokens: 5, latencyMs: 1, attempts: 1 };
  };
  return { chat, requests };
}
const call = (name: string, args: unknown, id = `c_${name}`) => ({
  id,
  type: 'function' as const,
  function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args) },
});

const ref = { channel: 'chatwoot' as const, account: '1', userId: '7', threadId: '42' };
const weather: AgentTool = {
  name: 'weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  handler: async (args) => `sunny in ${String(args.city)}`,
};
const broken: AgentTool = {
  name: 'broken',
  description: 'Always fails',
  parameters: { type: 'object', properties: {} },
  handler: async () => {
    throw new Error('backend exploded');
  },
};
const slow: AgentTool = {
  name: 'slow',
  description: 'Never answers in time',
  parameters: { type: 'object', properties: {} },
  timeoutMs: 30,
  handler: (_args, ctx) =>
    new Promise((resolve) => {
      const t = setTimeout(() => resolve('too late'), 5000);
      ctx.signal.addEventListener('abort', () => clearTimeout(t));
    }),
};

function run(chat: ChatFn, tools: AgentTool[], maxSteps = 4) {
  return runToolLoop({
    chat,
    request: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    tools,
    maxSteps,
    toolTimeoutMs: 1000,
    deadline: Date.now() + 10_000,
    context: { conversationId: 'c', ref, now: 0, log: silentLogger() },
    log: silentLogger(),
  });
}

describe('runToolLoop', () => {
  it('runs a tool, feeds its result back and returns the final text with summed usage', async () => {
    const { chat, requests } = scriptedModel([() => ({ tool_calls: [call('weather', { city: 'Lisbon' })] }), () => ({ content: 'It is sunny in Lisbon.' })]);
    const out = await run(chat, [weather]);
    expect(out).toMatchObject({ text: 'It is sunny in Lisbon.', stepLimitHit: false, inputTokens: 20, outputTokens: 10 });
    expect(out.toolCalls).toEqual([expect.objectContaining({ name: 'weather', ok: true })]);
    const second = requests[1]!.messages;
    expect(second.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [expect.objectContaining({ id: 'c_weather' })] });
    expect(second.at(-1)).toEqual({ role: 'tool', tool_call_id: 'c_weather', content: 'sunny in Lisbon' });
    expect(requests[0]!.tools).toEqual(toolDefinitions([weather]));
    expect(requests[0]!.toolChoice).toBe('auto');
  });

  it('tells the model about failing, timed-out, unknown and badly-called tools and goes on', async () => {
    const { chat, requests } = scriptedModel([
      () => ({
        tool_calls: [call('broken', {}), call('slow', {}), call('nope', {}), call('weather', {}, 'c_noargs'), call('weather', '{not json', 'c_badjson')],
      }),
      () => ({ content: 'Sorry, I could not check that.' }),
    ]);
    const out = await run(chat, [weather, broken, slow]);
    expect(out.text).toBe('Sorry, I could not check that.');
    expect(out.toolCalls.map((t) => [t.name, t.ok])).toEqual([
      ['broken', false],
      ['slow', false],
      ['nope', false],
      ['weather', false],
      ['weather', false],
    ]);
    const toolMessages = requests[1]!.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(String(m.content)) as { error: string });
    expect(toolMessages.map((m) => m.error)).toEqual([
      'backend exploded',
      'timed out after 30 ms',
      'unknown tool "nope"; available: weather, broken, slow',
      'invalid arguments: missing required argument "city"',
      'arguments are not valid JSON',
    ]);
  });

  it('stops at the step limit: the last call is made with tool_choice none, and a model that insists gets no more tools', async () => {
    const { chat, requests } = scriptedModel([() => ({ tool_calls: [call('weather', { city: 'Rome' })] })]);
    const out = await run(chat, [weather], 3);
    expect(requests).toHaveLength(3);
    expect(requests.map((r) => r.toolChoice)).toEqual(['auto', 'auto', 'none']);
    expect(out).toMatchObject({ stepLimitHit: true, text: null });
    expect(out.toolCalls).toHaveLength(2);
  });

  it('handoff_to_human ends the loop with the handoff decision', async () => {
    const { chat, requests } = scriptedModel([() => ({ content: 'Let me get a colleague.', tool_calls: [call('handoff_to_human', { reason: 'refund', summary: 'wants a refund' })] })]);
    const out = await run(chat, [handoffToHumanTool(), sendOptionsTool()]);
    expect(requests).toHaveLength(1);
    expect(out).toMatchObject({ text: 'Let me get a colleague.', handoff: { reason: 'refund', summary: 'wants a refund' } });
  });

  it('send_options attaches the options and the model writes the text', async () => {
    const options = [
      { id: 'track', title: 'Track my order' },
      { id: 'return', title: 'Return an item' },
    ];
    const { chat } = scriptedModel([() => ({ tool_calls: [call('send_options', { options })] }), () => ({ content: 'What would you like to do?' })]);
    const out = await run(chat, [handoffToHumanTool(), sendOptionsTool()]);
    expect(out).toMatchObject({ text: 'What would you like to do?', options });
    const { chat: bad } = scriptedModel([() => ({ tool_calls: [call('send_options', { options: [] })] }), () => ({ content: 'ok' })]);
    expect((await run(bad, [sendOptionsTool()])).toolCalls[0]).toMatchObject({ ok: false, error: expect.stringMatching(/missing|invalid options/) });
  });

  it('sends no tools when there are none', async () => {
    const { chat, requests } = scriptedModel([() => ({ content: 'plain' })]);
    expect((await run(chat, [])).text).toBe('plain');
    expect(requests[0]!.tools).toBeUndefined();
  });
});
