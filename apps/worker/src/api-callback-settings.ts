import type { z } from 'zod';
import { ConfigError, int, optional } from '@switchboard/core';

/**
 * Environment fragment of the API status callbacks (contract "HTTP API"). The URL is set by the
 * operator, so it is posted to as configured (loopback and private addresses included), unlike the
 * URLs the outside names.
 */
export const apiCallbackEnv = {
  /** Receives a signed POST per status change of a message sent through the API; unset = no callbacks. */
  API_CALLBACK_URL: optional(),
  /** HMAC-SHA256 key of `X-Switchboard-Signature` (at least 16 characters); required with API_CALLBACK_URL. */
  API_CALLBACK_SECRET: optional(),
  /** How long one callback POST may take before it counts as failed (and is retried), ms. */
  API_CALLBACK_TIMEOUT_MS: int(5000, 100, 60_000),
};

/** Parsed values of {@link apiCallbackEnv}. */
export type ApiCallbackEnv = z.infer<z.ZodObject<typeof apiCallbackEnv>>;

/** Where and how status callbacks are posted. */
export interface ApiCallbackSettings {
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs: number;
}

/** Shortest accepted API_CALLBACK_SECRET (as API_KEYS secrets). */
const MIN_SECRET_LENGTH = 16;

/**
 * The callback settings of a parsed environment: undefined when API_CALLBACK_URL is unset; a
 * {@link ConfigError} naming every problem otherwise (never quoting the secret).
 */
export function apiCallbackSettings(env: ApiCallbackEnv): ApiCallbackSettings | undefined {
  const url = env.API_CALLBACK_URL?.trim();
  if (!url) return undefined;
  const problems: string[] = [];
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    problems.push('API_CALLBACK_URL: not a URL');
  }
  if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') problems.push('API_CALLBACK_URL: must be an http or https URL');
  if (parsed && (parsed.username || parsed.password)) problems.push('API_CALLBACK_URL: must not carry credentials (requests are signed with API_CALLBACK_SECRET)');
  const secret = env.API_CALLBACK_SECRET;
  if (!secret) problems.push('API_CALLBACK_SECRET: required when API_CALLBACK_URL is set (callbacks are signed with it)');
  else if (secret.length < MIN_SECRET_LENGTH) problems.push(`API_CALLBACK_SECRET: at least ${MIN_SECRET_LENGTH} characters`);
  if (problems.length > 0 || !secret) throw new ConfigError(problems);
  return { url, secret, timeoutMs: env.API_CALLBACK_TIMEOUT_MS };
}
