import type { ConversationRef, InboundMessage, Logger, PersonContext, Reply } from '@switchboard/core';
import type { Cluster, Redis } from 'ioredis';
import type { AgentConfig } from './config.schema.js';
import type { AgentEnv } from './env.js';
import type { ChatFn } from './llm.js';
import type { CitedSource, KnowledgeSearch } from './knowledge.js';
import type { AgentMetrics } from './metrics.js';
import type { RouteReason } from './routing.js';
import type { ToolCallRecord } from './tools/tool-loop.js';
import type { AgentTool } from './tools/tool.types.js';
import type { VerifiedPerson } from './verification.js';

/** One turn to answer: the customer's messages since the last turn, oldest first. */
export interface AgentInput {
  conversationId: string;
  ref: ConversationRef;
  messages: InboundMessage[];
  /** Epoch ms of the turn (the date/time the model is told). */
  now: number;
  /** Who the customer is, from the directory (absent = an unknown sender: the default role, unverified). */
  person?: PersonContext;
}

/** Where an answer came from. */
export type AgentSource = 'llm' | 'faq' | 'local' | 'cache' | 'offline' | 'fallback' | 'refusal' | 'rate_limited';

/** The agent's answer to a turn. */
export interface AgentOutput {
  /** null = say nothing (reaction-only turn, or rate limited after the one notice). */
  reply: Reply | null;
  source: AgentSource;
  /** Set when the conversation must go to a person (tool call, customer request, repeated failures). */
  handoff?: { reason: string; summary: string };
  /** Summed over the turn's LLM calls. */
  usage?: { model: string; inputTokens: number; outputTokens: number; latencyMs: number };
  /** Knowledge documents the turn's prompt or tool results drew on (one per document, in order of first use). */
  sources?: Array<{ documentId: string; title: string; url?: string }>;
  /** Tool calls made in the turn (for logs and the eval script). */
  toolCalls?: ToolCallRecord[];
  /** The conversation's A/B variant, when variants are configured and the model was involved. */
  variant?: string;
  /** Why the turn used the strong model (`simple` = the default model). */
  route?: RouteReason;
  /** Customer facts the model asked to keep; saved to the profile by `Agent.remember`. */
  facts?: string[];
  /** The knowledge sources the reply cites (`[n]`), when citations are on and it cites any. */
  citations?: CitedSource[];
  /** The customer typed the right verification code: link their identifier to this person. */
  verified?: VerifiedPerson;
}

/** Everything the agent needs, built once in the composition root. */
export interface AgentOptions {
  config: AgentConfig;
  env: AgentEnv;
  redis: Redis | Cluster;
  /** Queue prefix (QUEUE_PREFIX); agent keys live under `${prefix}:sb:agent:`. */
  prefix: string;
  log: Logger;
  /** Metrics hooks (tokens, latency, tools, turns). */
  metrics?: AgentMetrics;
  /** Extra tools (plugins) besides the built-ins and the config's HTTP tools. */
  tools?: AgentTool[];
  /** Replaces the OpenAI client (e.g. a router or an eval harness); defaults to one built from `env`. */
  chat?: ChatFn;
  /** The knowledge base (`KnowledgeBase` of @switchboard/knowledge); used when `config.knowledge.enabled`. */
  knowledge?: KnowledgeSearch;
}
