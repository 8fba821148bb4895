import type { PersonContext } from '@switchboard/core';
import type { HttpToolConfig } from '../config.schema.js';
import { ToolError } from '../errors.js';
import type { AgentTool } from './tool.types.js';

const URL_PARAM = /\{([a-zA-Z0-9_]+)\}/g;

/** The header an HTTP tool with `sendPerson: true` receives the person in. */
export const PERSON_HEADER = 'x-switchboard-person';

/** The person as the `X-Switchboard-Person` header carries it: base64url of its JSON (headers are ASCII; names and attributes may not be). */
export function personHeaderValue(person: PersonContext): string {
  const { id, role, attributes, verified, externalId, name, language } = person;
  return Buffer.from(JSON.stringify({ id: id ?? null, role, verified, attributes, ...(externalId ? { externalId } : {}), ...(name ? { name } : {}), ...(language ? { language } : {}) }), 'utf8').toString('base64url');
}

function scalar(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A tool declared in AGENT_CONFIG as an HTTP call. URL placeholders take the URL-encoded
 * arguments of the same name; the other arguments go to the query string (GET/DELETE) or a
 * JSON body (POST/PUT/PATCH). Non-2xx answers are reported to the model with their status.
 */
export function httpTool(def: HttpToolConfig): AgentTool {
  return {
    name: def.name,
    description: def.description,
    parameters: def.parameters,
    ...(def.timeoutMs !== undefined ? { timeoutMs: def.timeoutMs } : {}),
    async handler(args, ctx) {
      const used = new Set<string>();
      const url = new URL(
        def.url.replace(URL_PARAM, (_m, name: string) => {
          used.add(name);
          const v = args[name];
          if (v === undefined || v === null) throw new ToolError(`missing argument "${name}" for the URL`);
          return encodeURIComponent(scalar(v));
        }),
      );
      const rest = Object.fromEntries(Object.entries(args).filter(([k, v]) => !used.has(k) && v !== undefined));
      const hasBody = def.method === 'POST' || def.method === 'PUT' || def.method === 'PATCH';
      if (!hasBody) for (const [k, v] of Object.entries(rest)) url.searchParams.set(k, scalar(v));
      const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', ...def.headers };
      if (hasBody) headers['content-type'] = 'application/json';
      if (def.sendPerson && ctx.person) headers[PERSON_HEADER] = personHeaderValue(ctx.person);
      let res: Response;
      try {
        res = await fetch(url, { method: def.method, headers, signal: ctx.signal, ...(hasBody ? { body: JSON.stringify(rest) } : {}) });
      } catch (err) {
        throw new ToolError(`request failed: ${err instanceof Error ? err.message : String(err)}`, err);
      }
      const text = await res.text();
      const body = text.length > def.maxResponseChars ? `${text.slice(0, def.maxResponseChars)}…[truncated]` : text;
      if (!res.ok) throw new ToolError(`HTTP ${res.status}${body ? `: ${body}` : ''}`);
      return body || `HTTP ${res.status} (empty body)`;
    },
  };
}
