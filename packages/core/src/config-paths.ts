import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The directory relative paths in variables are resolved from: the nearest ancestor of `cwd`
 * (itself included) that holds `.env` or `pnpm-workspace.yaml` — the repository root, whichever
 * app folder a process was started in — else `cwd` itself (a container's working directory).
 */
export function configRoot(cwd: string = process.cwd()): string {
  const start = resolve(cwd);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.env')) || existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

/** `path` when absolute, else `path` resolved from {@link configRoot}. */
export function resolveConfigPath(path: string, cwd?: string): string {
  return isAbsolute(path) ? path : resolve(configRoot(cwd), path);
}

/**
 * An optional file or directory variable (empty = unset). A relative value is resolved from the
 * repository root ({@link configRoot}), so `AGENT_CONFIG=config/agent.yaml` names the same file
 * whichever app reads it.
 */
export const filePath = () =>
  z.preprocess((v) => (typeof v === 'string' ? (v.trim() === '' ? undefined : resolveConfigPath(v.trim())) : v), z.string().optional());
