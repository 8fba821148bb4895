import type { Logger, ReplyMedia, ReplyOption } from '@switchboard/core';
import type { ChatCompletionMessageFunctionToolCall, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { ChatFn, ChatRequest } from '../llm.js';
import { checkArgs } from './args-check.js';
import type { AgentTool, ToolContext, ToolResult } from './tool.types.js';

/** One tool call of a turn, for logs, metrics and the eval script. */
export interface ToolCallRecord {
  name: string;
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** The outcome of a turn's model/tool loop. */
export interface LoopResult {
  /** The model's final text; null when it ended with a handoff or the step limit without text. */
  text: string | null;
  handoff?: { reason: string; summary: string };
  options?: ReplyOption[];
  media?: ReplyMedia[];
  /** Customer facts the model asked to keep. */
  facts?: string[];
  toolCalls: ToolCallRecord[];
  /** True when the model still wanted tools after the last allowed step. */
  stepLimitHit: boolean;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
}

/** Options of {@link runToolLoop}. */
export interface ToolLoopOptions {
  chat: ChatFn;
  request: Omit<ChatRequest, 'tools' | 'toolChoice'>;
  tools: AgentTool[];
  /** Model calls allowed in the turn; the last one is made with `tool_choice: none`. */
  maxSteps: number;
  toolTimeoutMs: number;
  deadline: number;
  context: Omit<ToolContext, 'signal'>;
  log: Logger;
  onToolCall?: (record: ToolCallRecord) => void;
  /** After the first step that calls tools, the remaining steps use this model (routing `escalateOnTools`). */
  escalateModel?: string;
  /**
   * Tools that exist but are not offered to this customer (their role does not allow them): a
   * call to one of them is refused with this text and never run, whatever the model was told.
   */
  refused?: ReadonlyMap<string, string>;
}

/** The OpenAI `tools` array of a set of tools. */
export function toolDefinitions(tools: AgentTool[]): ChatCompletionTool[] {
  return tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
}

/** Runs one tool with its timeout; every failure becomes a message for the model. */
async function invoke(
  tool: AgentTool | undefined,
  call: ChatCompletionMessageFunctionToolCall,
  opts: ToolLoopOptions,
): Promise<{ result: ToolResult; record: ToolCallRecord }> {
  const started = Date.now();
  const fail = (error: string) => ({
    result: { content: JSON.stringify({ error }) },
    record: { name: call.function.name, ok: false, latencyMs: Date.now() - started, error },
  });
  const refusal = opts.refused?.get(call.function.name);
  if (refusal !== undefined) return fail(refusal);
  if (!tool) return fail(`unknown tool "${call.function.name}"; available: ${opts.tools.map((t) => t.name).join(', ') || 'none'}`);
  let args: Record<string, unknown>;
  try {
    const parsed: unknown = call.function.arguments.trim() ? JSON.parse(call.function.arguments) : {};
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('arguments must be a JSON object');
    args = parsed as Record<string, unknown>;
  } catch {
    return fail('arguments are not valid JSON');
  }
  const problems = checkArgs(tool.parameters, args);
  if (problems.length) return fail(`invalid arguments: ${problems.join('; ')}`);
  const timeoutMs = Math.max(1, Math.min(tool.timeoutMs ?? opts.toolTimeoutMs, opts.deadline - Date.now()));
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const out = await Promise.race([tool.handler(args, { ...opts.context, signal: controller.signal }), timeout]);
    const result = typeof out === 'string' ? { content: out } : out;
    return { result, record: { name: tool.name, ok: true, latencyMs: Date.now() - started } };
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asks the model, runs the tools it calls, feeds their results back, and repeats until the model
 * answers with text, hands off, or the step limit is reached. Tool failures (unknown tool, bad
 * arguments, errors, timeouts) are told to the model and never end the turn. LLM failures
 * propagate ({@link LlmUnavailableError}).
 */
export async function runToolLoop(opts: ToolLoopOptions): Promise<LoopResult> {
  const byName = new Map(opts.tools.map((t) => [t.name, t]));
  const definitions = toolDefinitions(opts.tools);
  const messages: ChatCompletionMessageParam[] = [...opts.request.messages];
  let model = opts.request.model;
  const out: LoopResult = { text: null, toolCalls: [], stepLimitHit: false, model: opts.request.model, inputTokens: 0, outputTokens: 0, latencyMs: 0 };
  for (let step = 1; step <= opts.maxSteps; step += 1) {
    const last = step === opts.maxSteps;
    const res = await opts.chat(
      { ...opts.request, model, messages, ...(definitions.length ? { tools: definitions, toolChoice: last ? 'none' : 'auto' } : {}) },
      opts.deadline,
    );
    out.model = res.model;
    out.inputTokens += res.inputTokens;
    out.outputTokens += res.outputTokens;
    out.latencyMs += res.latencyMs;
    const text = res.message.content?.trim() || null;
    const calls = (res.message.tool_calls ?? []).filter((c): c is ChatCompletionMessageFunctionToolCall => c.type === 'function');
    if (!calls.length) {
      out.text = text;
      return out;
    }
    if (last) {
      out.stepLimitHit = true;
      out.text = text;
      opts.log.warn('tool step limit reached', { maxSteps: opts.maxSteps, tools: calls.map((c) => c.function.name) });
      return out;
    }
    messages.push({ role: 'assistant', content: res.message.content ?? null, tool_calls: calls });
    if (opts.escalateModel) model = opts.escalateModel;
    for (const call of calls) {
      const { result, record } = await invoke(byName.get(call.function.name), call, opts);
      out.toolCalls.push(record);
      opts.onToolCall?.(record);
      if (!record.ok) opts.log.warn('tool call failed', { tool: record.name, error: record.error });
      messages.push({ role: 'tool', tool_call_id: call.id, content: result.content });
      if (result.options) out.options = result.options;
      if (result.media) out.media = [...(out.media ?? []), ...result.media];
      if (result.handoff) out.handoff = result.handoff;
      if (result.facts?.length) out.facts = [...(out.facts ?? []), ...result.facts];
    }
    if (out.handoff) {
      out.text = text;
      return out;
    }
  }
  return out;
}
