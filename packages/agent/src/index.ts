export { agentEnv, type AgentEnv } from './env.js';
export {
  loadAgentConfig,
  parseAgentConfig,
  AgentConfigSchema,
  BUILTIN_TOOL_NAMES,
  DEFAULT_AGENT_CONFIG_INPUT,
  type AgentConfig,
  type AgentConfigInput,
} from './config.js';
export { Agent } from './agent.js';
export type { AgentInput, AgentOutput, AgentOptions, AgentSource } from './agent.types.js';
export type { CitedSource, KnowledgeChunk, KnowledgeSearch } from './knowledge.js';
export { AgentConfigError, LlmUnavailableError, ToolError } from './errors.js';
export { prometheusAgentMetrics, type AgentMetrics } from './metrics.js';
export { LlmClient, type ChatFn, type ChatRequest, type ChatResult } from './llm.js';
export type { AgentTool, ToolContext, ToolResult } from './tools/tool.types.js';
export type { ToolCallRecord } from './tools/tool-loop.js';
export type { RouteReason } from './routing.js';
export type { CustomerProfile } from './profile.js';
export { renderContent, renderMessage, renderTurn } from './render.js';
export { turnLanguage } from './turn-language.js';
export { agentKeys, customerId } from './keys.js';
export { runEval, formatEval, parseEvalSet, type EvalConversation, type EvalTurn } from './eval/eval.js';
export { UnansweredQuestions, normaliseQuestion, unansweredId, UNANSWERED_MAX, UNANSWERED_TTL_SECONDS, type UnansweredQuestion } from './unanswered.js';
export { OptOutKeywords, type OptOutIntent } from './opt-out.js';
export { isOpenAt, nextOpeningAt, formatOpening, instantOf, DEFAULT_OUTSIDE_HOURS_NOTICE, type OutsideHours } from './business-hours.js';
export { BusinessHoursConfig, WEEKDAYS, type Weekday } from './config.schema.js';
export { STAFF_COMMANDS, DEFAULT_ROLES, type RoleConfig, type StaffCommand } from './config.schema.js';
export type { ResolvedRole } from './agent.js';
export { CodeVerification, VERIFICATION_TOOL, type VerifiedPerson, type CodeCheck } from './verification.js';
export { PERSON_HEADER, personHeaderValue } from './tools/http-tool.js';
