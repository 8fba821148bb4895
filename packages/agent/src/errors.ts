import { GatewayError } from '@switchboard/core';

/** The agent configuration file is missing, unreadable or invalid; `problems` names every one. */
export class AgentConfigError extends GatewayError {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid agent configuration (${source}):\n  - ${problems.join('\n  - ')}`, { code: 'agent_config', retryable: false });
    this.problems = problems;
  }
}

/** The LLM could not be reached or kept failing within the turn budget. */
export class LlmUnavailableError extends GatewayError {
  readonly attempts: number;
  readonly status: number | undefined;
  constructor(message: string, opts: { attempts: number; status?: number; cause?: unknown }) {
    super(message, { code: 'llm_unavailable', retryable: true, cause: opts.cause });
    this.attempts = opts.attempts;
    this.status = opts.status;
  }
}

/** A tool failed (bad arguments, HTTP error, timeout). Told to the model, never thrown out of a turn. */
export class ToolError extends GatewayError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'tool_failed', retryable: false, cause });
  }
}
