import { Counter, Histogram, type Registry } from 'prom-client';

/** Events the agent reports; wire them to Prometheus with {@link prometheusAgentMetrics} or anything else. */
export interface AgentMetrics {
  /** Every LLM request (each retry attempt counts). */
  llmCall?(e: { model: string; variant?: string | undefined; ok: boolean; status?: number | undefined; inputTokens: number; outputTokens: number; latencyMs: number }): void;
  /** Every tool call. */
  toolCall?(e: { tool: string; ok: boolean; latencyMs: number }): void;
  /** Every answered turn, by where the answer came from. */
  turn?(e: { channel: string; source: string; handoff: boolean; latencyMs: number; variant?: string | undefined }): void;
}

/**
 * Prometheus counters/histograms for the agent: tokens in/out and latency per model, tools,
 * turns by source; `variant` is the A/B variant (empty without variants).
 */
export function prometheusAgentMetrics(registry: Registry): AgentMetrics {
  const requests = new Counter({ name: 'agent_llm_requests_total', help: 'LLM requests by model and outcome', labelNames: ['model', 'outcome'], registers: [registry] });
  const tokens = new Counter({ name: 'agent_llm_tokens_total', help: 'LLM tokens by model and direction', labelNames: ['model', 'direction', 'variant'], registers: [registry] });
  const latency = new Histogram({
    name: 'agent_llm_latency_seconds',
    help: 'LLM request latency by model',
    labelNames: ['model'],
    buckets: [0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [registry],
  });
  const tools = new Counter({ name: 'agent_tool_calls_total', help: 'Tool calls by tool and outcome', labelNames: ['tool', 'outcome'], registers: [registry] });
  const turns = new Counter({ name: 'agent_turns_total', help: 'Agent turns by channel, answer source and handoff', labelNames: ['channel', 'source', 'handoff', 'variant'], registers: [registry] });
  const turnLatency = new Histogram({
    name: 'agent_turn_latency_seconds',
    help: 'Time to produce a turn answer, by source',
    labelNames: ['source'],
    buckets: [0.005, 0.05, 0.25, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  return {
    llmCall(e) {
      requests.inc({ model: e.model, outcome: e.ok ? 'ok' : String(e.status ?? 'error') });
      const variant = e.variant ?? '';
      tokens.inc({ model: e.model, direction: 'in', variant }, e.inputTokens);
      tokens.inc({ model: e.model, direction: 'out', variant }, e.outputTokens);
      latency.observe({ model: e.model }, e.latencyMs / 1000);
    },
    toolCall(e) {
      tools.inc({ tool: e.tool, outcome: e.ok ? 'ok' : 'error' });
    },
    turn(e) {
      turns.inc({ channel: e.channel, source: e.source, handoff: String(e.handoff), variant: e.variant ?? '' });
      turnLatency.observe({ source: e.source }, e.latencyMs / 1000);
    },
  };
}
