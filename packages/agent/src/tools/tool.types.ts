import type { ConversationRef, Logger, PersonContext, ReplyMedia, ReplyOption } from '@switchboard/core';
import type { JsonSchemaObject } from '../config.schema.js';

/** What a tool handler gets besides its arguments. */
export interface ToolContext {
  conversationId: string;
  ref: ConversationRef;
  now: number;
  /** Aborted when the tool's timeout fires; pass it to fetch and other I/O. */
  signal: AbortSignal;
  log: Logger;
  /**
   * Who the customer is, as the gateway resolved it from the directory (role, attributes, whether
   * verified); never taken from the message text. Absent outside a turn (e.g. a preview).
   */
  person?: PersonContext;
}

/** What a tool returns: text for the model, and optionally effects on the reply. */
export interface ToolResult {
  /** Told to the model as the tool's result (JSON or plain text). */
  content: string;
  /** Ends the turn with a handoff to a person. */
  handoff?: { reason: string; summary: string };
  /** Options (buttons/list) to attach to the reply. */
  options?: ReplyOption[];
  /** Media to attach to the reply. */
  media?: ReplyMedia[];
  /** Facts about the customer to keep in their profile (saved by `Agent.remember`, not during the turn). */
  facts?: string[];
}

/**
 * A tool the model may call: the plugin interface. Built-ins and config-declared HTTP tools
 * implement it; a deployment can pass its own to the Agent.
 */
export interface AgentTool {
  /** `^[a-zA-Z0-9_-]{1,64}$`, unique. */
  name: string;
  description: string;
  /** JSON schema of the arguments (an object schema). */
  parameters: JsonSchemaObject;
  /** Overrides the default per-tool timeout. */
  timeoutMs?: number;
  /** Throw (any error) to report a failure to the model; the turn goes on. */
  handler(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult | string>;
}
