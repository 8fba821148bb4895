import { filePath, int, optional, url, withDefault } from '@switchboard/core';
import { type z } from 'zod';

/** Environment fragment of the agent: compose it into the worker's `loadConfig` shape. */
export const agentEnv = {
  /** Unset = offline mode: FAQ, greetings and an offline notice only. No default (secret). */
  OPENAI_API_KEY: optional(),
  /** Any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, Ollama…); unset = the SDK default. */
  OPENAI_BASE_URL: url(),
  LLM_MODEL: withDefault('gpt-4o-mini'),
  /** Per LLM request; the turn budget in AGENT_CONFIG bounds retries on top of it. */
  LLM_TIMEOUT_MS: int(60_000, 1),
  /** Path of the YAML/JSON agent configuration; unset = built-in defaults. */
  AGENT_CONFIG: filePath(),
  VISION_MODEL: optional(),
};

/** The parsed agent environment. */
export type AgentEnv = z.infer<z.ZodObject<typeof agentEnv>>;
