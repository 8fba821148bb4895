import type { Logger } from '@switchboard/core';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import type {
  ChatCompletionMessage,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { LlmUnavailableError } from './errors.js';

/** One chat completion request, provider-neutral. */
export interface ChatRequest {
  model: string;
  messages: ChatCompletionMessageParam[];
  tools?: ChatCompletionTool[];
  toolChoice?: ChatCompletionToolChoiceOption;
  temperature?: number;
  maxTokens?: number;
  /** A/B variant, passed to the metrics hook. */
  variant?: string;
}

/** The answer of one chat completion (after retries). */
export interface ChatResult {
  message: ChatCompletionMessage;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  attempts: number;
}

/** Sends one chat completion; rejects with {@link LlmUnavailableError}. The tool loop depends only on this. */
export type ChatFn = (req: ChatRequest, deadline: number) => Promise<ChatResult>;

/** Options of {@link LlmClient}. */
export interface LlmClientOptions {
  apiKey: string;
  baseURL?: string | undefined;
  /** Per request; capped by what is left of the turn budget. */
  timeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  log: Logger;
  /** Reports every finished request (successful or not) for metrics. */
  onCall?: (e: { model: string; variant?: string | undefined; ok: boolean; status?: number | undefined; inputTokens: number; outputTokens: number; latencyMs: number }) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `err` as the SDK's API error (`instanceof` alone narrows to `APIError<any, any, any>`). */
function apiError(err: unknown): APIError | undefined {
  return err instanceof APIError ? (err as APIError) : undefined;
}

/** Statuses worth another attempt: timeouts, conflicts, rate limits, server errors. */
function isRetryable(err: unknown): boolean {
  if (err instanceof APIConnectionError) return true; // network errors and timeouts
  const api = apiError(err);
  if (api) {
    const s = api.status;
    return s === 408 || s === 409 || s === 429 || (s !== undefined && s >= 500);
  }
  return false;
}

/** Server-suggested delay (`retry-after-ms`, `retry-after` seconds or date), if any. */
function retryAfterMs(err: unknown, now: number): number | undefined {
  const headers = apiError(err)?.headers;
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms)) return Math.max(0, ms);
  const ra = headers.get('retry-after');
  if (ra === null) return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(ra);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * Chat completions through the `openai` SDK against any OpenAI-compatible base URL, with our own
 * retry loop (the SDK's is off) so that retries stop at the turn deadline: each attempt's
 * timeout is capped by the time left, and no retry starts past the deadline.
 */
export class LlmClient {
  private readonly client: OpenAI;

  constructor(private readonly opts: LlmClientOptions) {
    this.client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, timeout: opts.timeoutMs, maxRetries: 0 });
  }

  /** Sends one chat completion, retrying 429/5xx/timeouts with backoff until `deadline` (epoch ms). */
  readonly chat: ChatFn = async (req, deadline) => {
    let attempt = 0;
    let lastErr: unknown;
    for (;;) {
      const left = deadline - Date.now();
      if (left < 200) break;
      attempt += 1;
      const started = Date.now();
      try {
        const res = await this.client.chat.completions.create(
          {
            model: req.model,
            messages: req.messages,
            ...(req.tools?.length ? { tools: req.tools, tool_choice: req.toolChoice ?? 'auto' } : {}),
            ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
            ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
          },
          { timeout: Math.min(this.opts.timeoutMs, left), maxRetries: 0 },
        );
        const latencyMs = Date.now() - started;
        const message = res.choices[0]?.message;
        if (!message) throw new LlmUnavailableError('the model returned no choices', { attempts: attempt });
        const inputTokens = res.usage?.prompt_tokens ?? 0;
        const outputTokens = res.usage?.completion_tokens ?? 0;
        this.opts.onCall?.({ model: res.model || req.model, variant: req.variant, ok: true, inputTokens, outputTokens, latencyMs });
        return { message, model: res.model || req.model, inputTokens, outputTokens, latencyMs, attempts: attempt };
      } catch (err) {
        lastErr = err;
        const status = apiError(err)?.status;
        this.opts.onCall?.({ model: req.model, variant: req.variant, ok: false, status, inputTokens: 0, outputTokens: 0, latencyMs: Date.now() - started });
        if (err instanceof LlmUnavailableError || !isRetryable(err) || attempt >= this.opts.maxAttempts) break;
        const base = this.opts.backoffMs * 2 ** (attempt - 1);
        const delay = retryAfterMs(err, Date.now()) ?? Math.round(base * (0.75 + Math.random() * 0.5));
        if (Date.now() + delay + 200 > deadline) break;
        this.opts.log.warn('llm request failed, retrying', { attempt, status, delayMs: delay, error: err instanceof Error ? err.message : String(err) });
        await sleep(delay);
      }
    }
    if (lastErr instanceof LlmUnavailableError) throw lastErr;
    const status = apiError(lastErr)?.status;
    const reason = lastErr instanceof Error ? lastErr.message : 'turn budget exhausted before the first attempt';
    throw new LlmUnavailableError(`LLM unavailable after ${attempt} attempt(s): ${reason}`, { attempts: attempt, status, cause: lastErr });
  };
}
