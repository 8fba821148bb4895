import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The directory relative paths in variables are resolved from: the repository root, i.e. the
 * nearest directory at or above `cwd` holding `.env`, else the nearest holding `pnpm-workspace.yaml`,
 * else `cwd` itself (a container's working directory). Apps run from their own folders under
 * `pnpm start`, but a path in `.env` is written from the root.
 */
export function configRoot(cwd: string = process.cwd()): string {
  for (const marker of ['.env', 'pnpm-workspace.yaml']) {
    for (let dir = resolve(cwd); ; dir = dirname(dir)) {
      if (existsSync(join(dir, marker))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  return resolve(cwd);
}

/** `path` when absolute, else `path` resolved from `root` (default {@link configRoot} of `cwd`). */
export function resolveConfigPath(path: string, cwd?: string, root: string = configRoot(cwd)): string {
  return isAbsolute(path) ? path : resolve(root, path);
}

/**
 * An optional file or directory variable (empty = unset). A relative value is resolved from the
 * repository root ({@link configRoot}), so `AGENT_CONFIG=config/agent.yaml` names the same file
 * whichever app reads it.
 */
export const filePath = () =>
  z.preprocess((v) => (typeof v === 'string' ? (v.trim() === '' ? undefined : resolveConfigPath(v.trim())) : v), z.string().optional());
