import { silentLogger } from '@switchboard/core';
import { startFakeOpenAI, type FakeOpenAI } from '@switchboard/testkit';
import OpenAI, { toFile } from 'openai';
import { LlmUnavailableError } from './errors.js';
import { LlmClient } from './llm.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI({ transcript: 'hola, quiero cambiar mi pedido' });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.calls.length = 0;
  fake.failNext(0);
  fake.setDelay(0);
});

const req = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'ping' }] };
function client(over: Partial<ConstructorParameters<typeof LlmClient>[0]> = {}) {
  const events: Array<{ ok: boolean; status?: number | undefined }> = [];
  const c = new LlmClient({ apiKey: 'sk-test', baseURL: fake.url, timeoutMs: 1000, maxAttempts: 3, backoffMs: 5, log: silentLogger(), onCall: (e) => events.push(e), ...over });
  return { c, events };
}

describe('LlmClient against the fake OpenAI server', () => {
  it('returns the message, model and usage', async () => {
    const { c, events } = client();
    const res = await c.chat(req, Date.now() + 5000);
    expect(res).toMatchObject({ model: 'gpt-4o-mini', attempts: 1, message: { role: 'assistant', content: 'fake reply to: ping' } });
    expect(res.inputTokens).toBeGreaterThan(0);
    expect(events).toEqual([expect.objectContaining({ ok: true })]);
    expect(fake.calls[0]?.headers.authorization).toBe('Bearer sk-test');
  });

  it('retries 429 and 5xx up to maxAttempts', async () => {
    const { c, events } = client();
    fake.failNext(2, 429);
    expect((await c.chat(req, Date.now() + 5000)).attempts).toBe(3);
    expect(events.map((e) => e.status ?? 'ok')).toEqual([429, 429, 'ok']);
    fake.failNext(5, 502);
    await expect(c.chat(req, Date.now() + 5000)).rejects.toMatchObject({ name: 'LlmUnavailableError', attempts: 3, status: 502 });
  });

  it('does not retry client errors', async () => {
    const { c } = client();
    fake.failNext(1, 400);
    const err = await c.chat(req, Date.now() + 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect((err as LlmUnavailableError).attempts).toBe(1);
  });

  it('caps each attempt by the turn deadline and stops retrying when it has passed', async () => {
    const { c } = client({ timeoutMs: 60_000, backoffMs: 0 });
    fake.setDelay(5000);
    const started = Date.now();
    await expect(c.chat(req, Date.now() + 700)).rejects.toBeInstanceOf(LlmUnavailableError);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('fake OpenAI: the other endpoints speak the real wire format', () => {
  const sdk = () => new OpenAI({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 0 });
  it('lists models', async () => {
    const page = await sdk().models.list();
    expect(page.data.map((m) => m.id)).toContain('gpt-4o-mini');
  });
  it('transcribes audio', async () => {
    const t = await sdk().audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.from('OggS fake'), 'voice.ogg') });
    expect(t.text).toBe('hola, quiero cambiar mi pedido');
    expect(fake.calls.at(-1)).toMatchObject({ method: 'POST', path: '/v1/audio/transcriptions' });
  });
  it('generates images as a URL it serves, or as base64', async () => {
    const byUrl = await sdk().images.generate({ model: 'dall-e-3', prompt: 'a blue shoe' });
    const url = byUrl.data?.[0]?.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/files\/image-\d+\.png$/);
    const png = await fetch(url!);
    expect(png.headers.get('content-type')).toBe('image/png');
    const b64 = await sdk().images.generate({ model: 'dall-e-3', prompt: 'a red shoe', response_format: 'b64_json' });
    expect(Buffer.from(b64.data?.[0]?.b64_json ?? '', 'base64').subarray(1, 4).toString()).toBe('PNG');
  });
  it('answers tool calls in the chat completion shape', async () => {
    fake.setReply(() => ({ tool_calls: [{ name: 'lookup', arguments: { q: 'x' } }] }));
    const res = await sdk().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { tool_calls: [{ type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] } });
    expect(res.usage?.total_tokens).toBeGreaterThan(0);
    fake.setReply(() => 'plain');
  });
});
