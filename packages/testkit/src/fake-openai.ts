/**
 * A fake OpenAI-compatible API on loopback, speaking the real wire format of
 * `POST /v1/chat/completions` (non-streaming, with `usage` and `tool_calls`),
 * `POST /v1/audio/transcriptions`, `POST /v1/images/generations`, `POST /v1/moderations`,
 * `POST /v1/embeddings` (deterministic: see {@link fakeEmbedding}) and `GET /v1/models`.
 * It records every request and can script failures (429, 5xx) and slowness.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseMultipart } from '@switchboard/core';
import type { AddressInfo } from 'node:net';

/** One message of a chat completion request, as sent on the wire. */
export interface FakeChatMessage {
  role: string;
  content?: string | Array<{ type: string; text?: string }> | null;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  name?: string;
}

/** The body of a `POST /v1/chat/completions` request. */
export interface FakeChatRequest {
  model: string;
  messages: FakeChatMessage[];
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
  tool_choice?: unknown;
  [key: string]: unknown;
}

/** A tool call the fake model makes; `arguments` may be an object (serialised for you) or a JSON string. */
export interface FakeToolCall {
  id?: string;
  name: string;
  arguments: string | Record<string, unknown>;
}

/** What the fake model answers: plain text, or tool calls (optionally with text). */
export type FakeChatReply = string | { content?: string | null; tool_calls: FakeToolCall[] };

/** Scripts the model: gets the parsed request body, returns the answer. */
export type FakeReplyFn = (req: FakeChatRequest) => FakeChatReply | Promise<FakeChatReply>;

/** Options of {@link startFakeOpenAI}. */
export interface FakeOpenAIOptions {
  /** Default: echoes the last user message as `fake reply to: …`. */
  reply?: FakeReplyFn;
  /** Delay before every answer (to exercise client timeouts). */
  delayMs?: number;
  /** The first `failTimes` POST requests answer `failStatus` (default 500). */
  failTimes?: number;
  failStatus?: number;
  /** Text returned by `/v1/audio/transcriptions`. */
  transcript?: string;
  /** Scripts `/v1/audio/transcriptions` by the uploaded file (wins over `transcript`). */
  transcribe?: (upload: FakeTranscriptionUpload) => string;
  /** Which inputs `/v1/moderations` flags (default: none). */
  flag?: (input: string) => boolean;
}

/** A file uploaded to `/v1/audio/transcriptions`, as the fake parsed it. */
export interface FakeTranscriptionUpload {
  filename: string;
  contentType: string;
  bytes: Buffer;
}

/** A request the fake received (any route). */
export interface FakeOpenAICall {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
}

/** Handle of a running fake. */
export interface FakeOpenAI {
  /** Base URL including `/v1`, ready for `new OpenAI({ baseURL })`. */
  url: string;
  /** Parsed bodies of every `/v1/chat/completions` request that was answered (not the scripted failures). */
  requests: FakeChatRequest[];
  /** Every HTTP request, including failed ones and other routes. */
  calls: FakeOpenAICall[];
  /** Files uploaded for transcription (answered ones). */
  transcriptions: FakeTranscriptionUpload[];
  /** Every text `/v1/embeddings` embedded, in order. */
  embeddingInputs: string[];
  setReply(fn: FakeReplyFn): void;
  setDelay(ms: number): void;
  /** The next `n` POST requests fail with `status` (default 500). */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

/** A 1×1 transparent PNG, served as the generated image. */
const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  404: 'invalid_request_error',
  429: 'rate_limit_exceeded',
  500: 'server_error',
  502: 'server_error',
  503: 'server_error',
};

function textOf(content: FakeChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('');
  return '';
}

/** Rough token count (≈ 4 characters a token), enough for usage figures. */
function tokens(s: string): number {
  return Math.max(1, Math.ceil(s.length / 4));
}

const defaultReply: FakeReplyFn = (req) => {
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
  return `fake reply to: ${textOf(lastUser?.content)}`;
};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  const type = ERROR_TYPES[status] ?? 'server_error';
  // `retry-after-ms: 0` keeps clients that honour it fast in tests; real servers send seconds.
  sendJson(res, status, { error: { message, type, param: null, code: type } }, status === 429 ? { 'retry-after-ms': '0' } : {});
}

/** Starts the fake on 127.0.0.1 and a random port. */
export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  let replyFn: FakeReplyFn = opts.reply ?? defaultReply;
  let delayMs = opts.delayMs ?? 0;
  let failRemaining = opts.failTimes ?? 0;
  let failStatus = opts.failStatus ?? 500;
  let seq = 0;
  const requests: FakeChatRequest[] = [];
  const calls: FakeOpenAICall[] = [];
  const transcriptions: FakeTranscriptionUpload[] = [];
  const embeddingInputs: string[] = [];
  let baseUrl = '';

  const wait = (res: ServerResponse) =>
    new Promise<void>((resolve) => {
      if (delayMs <= 0) return resolve();
      const timer = setTimeout(resolve, delayMs);
      // A client that gave up (timeout) closes the socket; stop waiting for it.
      res.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  async function chat(body: Buffer, res: ServerResponse): Promise<void> {
    let parsed: FakeChatRequest;
    try {
      parsed = JSON.parse(body.toString('utf8')) as FakeChatRequest;
    } catch {
      return sendError(res, 400, 'We could not parse the JSON body of your request.');
    }
    if (!parsed.model || !Array.isArray(parsed.messages)) {
      return sendError(res, 400, "Missing required parameter: 'model' or 'messages'.");
    }
    requests.push(parsed);
    const answer = await replyFn(parsed);
    await wait(res);
    seq += 1;
    const id = `chatcmpl-fake${seq}`;
    const promptTokens = tokens(JSON.stringify(parsed.messages));
    let message: Record<string, unknown>;
    let finish: string;
    let completionText: string;
    if (typeof answer === 'string') {
      message = { role: 'assistant', content: answer, refusal: null, annotations: [] };
      finish = 'stop';
      completionText = answer;
    } else {
      const toolCalls = answer.tool_calls.map((c, i) => ({
        id: c.id ?? `call_fake${seq}_${i}`,
        type: 'function',
        function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
      }));
      message = { role: 'assistant', content: answer.content ?? null, refusal: null, tool_calls: toolCalls, annotations: [] };
      finish = 'tool_calls';
      completionText = JSON.stringify(toolCalls) + (answer.content ?? '');
    }
    const completionTokens = tokens(completionText);
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: parsed.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      system_fingerprint: 'fp_fake',
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readBody(req);
    calls.push({ method: req.method ?? 'GET', path, headers: req.headers, bytes: body.length });
    if (req.method === 'POST' && failRemaining > 0) {
      failRemaining -= 1;
      await wait(res);
      return sendError(res, failStatus, `scripted failure ${failStatus}`);
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return chat(body, res);
    if (req.method === 'POST' && path === '/v1/audio/transcriptions') {
      await wait(res);
      const file = parseMultipart(String(req.headers['content-type'] ?? ''), body).get('file');
      const upload = { filename: file?.filename ?? '', contentType: file?.contentType ?? '', bytes: file?.bytes ?? Buffer.alloc(0) };
      transcriptions.push(upload);
      const text = opts.transcribe ? opts.transcribe(upload) : (opts.transcript ?? 'fake transcript');
      return sendJson(res, 200, { text, usage: { type: 'duration', seconds: 1 } });
    }
    if (req.method === 'POST' && path === '/v1/images/generations') {
      await wait(res);
      let wantsB64: boolean;
      try {
        wantsB64 = (JSON.parse(body.toString('utf8')) as { response_format?: string }).response_format === 'b64_json';
      } catch {
        return sendError(res, 400, 'We could not parse the JSON body of your request.');
      }
      seq += 1;
      const item = wantsB64 ? { b64_json: PNG_1X1.toString('base64') } : { url: `${baseUrl}/files/image-${seq}.png` };
      return sendJson(res, 200, { created: Math.floor(Date.now() / 1000), data: [{ ...item, revised_prompt: null }] });
    }
    if (req.method === 'POST' && path === '/v1/moderations') {
      let inputs: string[];
      let model = 'omni-moderation-latest';
      try {
        const b = JSON.parse(body.toString('utf8')) as { input?: unknown; model?: string };
        inputs = (Array.isArray(b.input) ? b.input : [b.input]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
        model = b.model ?? model;
      } catch {
        return sendError(res, 400, 'We could not parse the JSON body of your request.');
      }
      const cats = ['harassment', 'hate', 'illicit', 'self-harm', 'sexual', 'violence'];
      seq += 1;
      return sendJson(res, 200, {
        id: `modr-fake${seq}`,
        model,
        results: inputs.map((input) => {
          const flagged = opts.flag?.(input) ?? false;
          return {
            flagged,
            categories: Object.fromEntries(cats.map((c) => [c, flagged && c === 'harassment'])),
            category_scores: Object.fromEntries(cats.map((c) => [c, flagged && c === 'harassment' ? 0.97 : 0.001])),
            category_applied_input_types: Object.fromEntries(cats.map((c) => [c, ['text']])),
          };
        }),
      });
    }
    if (req.method === 'POST' && path === '/v1/embeddings') {
      let b: { input?: unknown; model?: string; dimensions?: number; encoding_format?: string };
      try {
        b = JSON.parse(body.toString('utf8')) as typeof b;
      } catch {
        return sendError(res, 400, 'We could not parse the JSON body of your request.');
      }
      const inputs = Array.isArray(b.input) ? b.input : [b.input];
      if (inputs.length === 0 || inputs.length > 2048 || inputs.some((x) => typeof x !== 'string' || x === '')) return sendError(res, 400, "'input' must be a non-empty string or array of at most 2048 non-empty strings");
      const dims = b.dimensions ?? 64;
      embeddingInputs.push(...(inputs as string[]));
      await wait(res);
      const data = (inputs as string[]).map((text, index) => {
        const v = fakeEmbedding(text, dims);
        const embedding = b.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
        return { object: 'embedding', index, embedding };
      });
      const promptTokens = (inputs as string[]).reduce((n, t) => n + tokens(t), 0);
      return sendJson(res, 200, { object: 'list', data, model: b.model ?? 'text-embedding-3-small', usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
    }
    if (req.method === 'GET' && path.startsWith('/v1/files/image-')) {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG_1X1.length });
      res.end(PNG_1X1);
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const created = Math.floor(Date.now() / 1000);
      return sendJson(res, 200, {
        object: 'list',
        data: ['gpt-4o-mini', 'gpt-4o', 'whisper-1', 'dall-e-3', 'omni-moderation-latest'].map((id) => ({ id, object: 'model', created, owned_by: 'fake' })),
      });
    }
    sendError(res, 404, `Invalid URL (${req.method} ${path})`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendError(res, 500, err instanceof Error ? err.message : String(err)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}/v1`;

  return {
    url: baseUrl,
    requests,
    calls,
    transcriptions,
    embeddingInputs,
    setReply: (fn) => {
      replyFn = fn;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    failNext: (n, status = 500) => {
      failRemaining = n;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The fake's embedding of a text: feature hashing of its lowercase words and CJK characters and
 * bigrams into `dims` dimensions, unit length. Deterministic and cheap; similarity between two
 * texts is lexical overlap, not meaning: tests with it show the plumbing and the fusion, not how
 * well a real model understands paraphrases.
 */
export function fakeEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  const terms: string[] = [];
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    for (const part of m[0].split(/([\p{Script=Han}]+)/u)) {
      if (!part) continue;
      if (/\p{Script=Han}/u.test(part)) {
        const chars = Array.from(part);
        chars.forEach((c, i) => terms.push(c, ...(chars[i + 1] ? [c + chars[i + 1]] : [])));
      } else if (part.length > 2) terms.push(part.slice(0, 6));
    }
  }
  for (const t of terms) {
    let h = 2166136261;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 16777619);
    v[(h >>> 0) % dims]! += 1;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}
