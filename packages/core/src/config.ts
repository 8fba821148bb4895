import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { config as readDotenv } from 'dotenv';
import { z } from 'zod';
import { filePath } from './config-paths.js';

/** Raised when the environment does not satisfy the configuration contract; lists every problem. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Docker and shells pass unset variables as empty strings; treat those as absent. */
const blankToUndefined = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** An optional string variable (empty = unset). */
export const optional = () => z.preprocess(blankToUndefined, z.string().optional());
/** A string variable with a default. */
export const withDefault = (def: string) => z.preprocess(blankToUndefined, z.string().default(def));
/** A TCP port. */
export const port = (def: number) => z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(65535).default(def));
/** A positive integer (milliseconds, counts), at least `min` and at most `max`. */
export const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.preprocess(blankToUndefined, z.coerce.number().int().min(min).max(max).default(def));
/** `true/false/1/0/yes/no/on/off`. */
export const flag = (def: boolean) =>
  z.preprocess((v) => {
    const b = blankToUndefined(v);
    if (typeof b !== 'string') return b;
    const s = b.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
    return b;
  }, z.boolean().default(def));
/** A comma-separated list (empty = empty list). */
export const csv = () =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : blankToUndefined(v) ?? []),
    z.array(z.string()),
  );
/** A URL without trailing slash; with a default it is always set. */
export function url(def: string): z.ZodType<string, unknown>;
export function url(): z.ZodType<string | undefined, unknown>;
export function url(def?: string): z.ZodType<string | undefined, unknown> {
  return z.preprocess(
    (v) => {
      const b = blankToUndefined(v) ?? def;
      return typeof b === 'string' ? b.replace(/\/+$/, '') : b;
    },
    def === undefined ? z.string().url().optional() : z.string().url(),
  );
}

/**
 * Native HTTPS for every HTTP app (contract "TLS"): both set → the app serves HTTPS on its port.
 * `SSL_CERTIFILE_PATH`/`SSL_KEYFILE_PATH` are the same settings under the names other services use;
 * the `TLS_*` names win when both are set. Relative paths are resolved from the repository root (`configRoot` in config-paths.ts).
 */
export const tlsEnv = {
  TLS_CERT_FILE: optional(),
  TLS_KEY_FILE: optional(),
  SSL_CERTIFILE_PATH: optional(),
  SSL_KEYFILE_PATH: optional(),
};

/** Settings every process shares. */
export const baseEnv = {
  ...tlsEnv,
  REDIS_URL: optional(),
  QUEUE_PREFIX: withDefault('gw'),
  LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info')),
  /** Shows message text in logs; for local debugging only. */
  LOG_SHOW_TEXT: flag(false),
  /** More accounts per channel, as data (see accounts-file.ts); relative = from the repository root. */
  ACCOUNTS_FILE: filePath(),
};

/** Loads `.env` from the working directory (never overriding real environment variables). */
export function readDotenvFile(cwd = process.cwd()): void {
  const file = resolve(cwd, '.env');
  if (existsSync(file)) readDotenv({ path: file, override: false, quiet: true });
}

/**
 * Validates `source` against the composed fragments and returns typed settings.
 * Throws one {@link ConfigError} naming every problem at once.
 */
export function loadConfig<S extends z.ZodRawShape>(shape: S, source: Record<string, string | undefined> = process.env): z.infer<z.ZodObject<S>> {
  const parsed = z.object(shape).safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return parsed.data;
}
