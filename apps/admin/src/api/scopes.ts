import { ConfigError } from '@switchboard/core';
import { z } from 'zod';
import type { ApiKey } from './api.js';

/**
 * What an API key may do. Each route needs one scope (see `operations.ts`):
 * `send` — messages and what sending needs (templates); `read` — the record (conversations,
 * export, analytics); `knowledge` — the knowledge base; `people` — the directory of known people; `admin` — erasure and
 * key management.
 */
export const ApiScope = z.enum(['send', 'read', 'knowledge', 'people', 'admin']);
export type ApiScope = z.infer<typeof ApiScope>;

/** Every scope: what a key not listed in `API_KEY_SCOPES` has. */
export const ALL_SCOPES: readonly ApiScope[] = ApiScope.options;

/** Key name → its scopes. */
export type KeyScopes = ReadonlyMap<string, readonly ApiScope[]>;

/**
 * `API_KEY_SCOPES` (`name:scope+scope,name:scope`, e.g. `orders:send+read,ops:admin`) → each listed
 * key's scopes. A key of `keys` that is not listed has every scope (so deployments without the
 * variable keep working). Unknown names or scopes and repeated names are reported at once.
 */
export function parseApiKeyScopes(raw: string | undefined, keys: readonly ApiKey[]): KeyScopes {
  const out = new Map<string, readonly ApiScope[]>(keys.map((k) => [k.name, ALL_SCOPES]));
  if (!raw?.trim()) return out;
  const problems: string[] = [];
  const listed = new Set<string>();
  raw.split(',').forEach((entry, i) => {
    const e = entry.trim();
    if (!e) return;
    const [name = '', list = ''] = e.split(':', 2).map((x) => x.trim());
    const scopes = list.split('+').map((x) => x.trim());
    if (!name || !list || e.split(':').length !== 2) {
      problems.push(`API_KEY_SCOPES entry ${i + 1}: expected name:scope+scope (scopes: ${ALL_SCOPES.join(', ')})`);
      return;
    }
    if (!out.has(name)) problems.push(`API_KEY_SCOPES: "${name}" is not a key of API_KEYS`);
    if (listed.has(name)) problems.push(`API_KEY_SCOPES: "${name}" is listed twice`);
    listed.add(name);
    const unknown = scopes.filter((s) => !ApiScope.safeParse(s).success);
    if (unknown.length) problems.push(`API_KEY_SCOPES key "${name}": unknown scope ${unknown.map((u) => `"${u}"`).join(', ')} (scopes: ${ALL_SCOPES.join(', ')})`);
    else out.set(name, [...new Set(scopes as ApiScope[])]);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
