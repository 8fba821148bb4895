import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { DEFAULT_FAQ } from './config.defaults.js';
import { AgentConfigSchema, type AgentConfig, type AgentConfigInput } from './config.schema.js';
import { AgentConfigError } from './errors.js';

export { AgentConfigSchema, type AgentConfig, type AgentConfigInput } from './config.schema.js';

/** Names of the built-in tools; config tools may not reuse them. */
export const BUILTIN_TOOL_NAMES = ['handoff_to_human', 'send_options'] as const;

/** The configuration used when AGENT_CONFIG is unset: default prompt, greetings, notices and a few FAQ entries. */
export const DEFAULT_AGENT_CONFIG_INPUT: AgentConfigInput = { faq: DEFAULT_FAQ };

const ENV_REF = /\$\{([A-Z_][A-Z0-9_]*)\}/g;
const URL_PARAM = /\{([a-zA-Z0-9_]+)\}/g;

/** Checks that zod cannot express: unique ids, tool names, URL placeholders, env references. */
function crossCheck(config: AgentConfig, source: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const faqIds = new Set<string>();
  config.faq.forEach((entry, i) => {
    if (faqIds.has(entry.id)) problems.push(`faq.${i}.id: duplicate FAQ id "${entry.id}"`);
    faqIds.add(entry.id);
  });
  const toolNames = new Set<string>(BUILTIN_TOOL_NAMES);
  config.tools.http.forEach((tool, i) => {
    const at = `tools.http.${i}`;
    if (toolNames.has(tool.name)) problems.push(`${at}.name: "${tool.name}" is already used (built-in or duplicate)`);
    toolNames.add(tool.name);
    const props = tool.parameters.properties;
    for (const [, param] of tool.url.matchAll(URL_PARAM)) {
      if (param && !(param in props)) problems.push(`${at}.url: placeholder {${param}} is not a property of parameters`);
    }
    const bare = tool.url.replace(URL_PARAM, 'x');
    try {
      const u = new URL(bare);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`${at}.url: must be http(s)`);
    } catch {
      problems.push(`${at}.url: not a valid URL template ("${tool.url}")`);
    }
    for (const [header, value] of Object.entries(tool.headers)) {
      for (const [, name] of value.matchAll(ENV_REF)) {
        if (name && !source[name]) problems.push(`${at}.headers.${header}: environment variable ${name} is not set`);
      }
    }
  });
  return problems;
}

/** Replaces `${NAME}` in tool headers with environment values (after {@link crossCheck} proved them present). */
function resolveEnvRefs(config: AgentConfig, source: Record<string, string | undefined>): AgentConfig {
  return {
    ...config,
    tools: {
      ...config.tools,
      http: config.tools.http.map((tool) => ({
        ...tool,
        headers: Object.fromEntries(Object.entries(tool.headers).map(([k, v]) => [k, v.replace(ENV_REF, (_m, name: string) => source[name] ?? '')])),
      })),
    },
  };
}

/**
 * Validates an already-parsed configuration object.
 * @throws AgentConfigError naming every problem.
 */
export function parseAgentConfig(raw: unknown, sourceName = 'inline', env: Record<string, string | undefined> = process.env): AgentConfig {
  const parsed = AgentConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new AgentConfigError(
      sourceName,
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
    );
  }
  const problems = crossCheck(parsed.data, env);
  if (problems.length) throw new AgentConfigError(sourceName, problems);
  return resolveEnvRefs(parsed.data, env);
}

/** Reads YAML or JSON text; syntax errors are reported with their line. */
function parseText(text: string, file: string): unknown {
  if (extname(file).toLowerCase() === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new AgentConfigError(file, [`invalid JSON: ${err instanceof Error ? err.message : String(err)}`]);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new AgentConfigError(file, doc.errors.map((e) => `invalid YAML: ${e.message.split('\n')[0] ?? e.message}`));
  return doc.toJS() as unknown;
}

/**
 * Loads AGENT_CONFIG (YAML, or JSON by `.json` extension). Unset path = built-in defaults.
 * Tool header values may reference `${ENV_VAR}`, resolved from `env`.
 * @throws AgentConfigError naming every problem (unreadable file, syntax, unknown keys, bad values).
 */
export function loadAgentConfig(path: string | undefined, env: Record<string, string | undefined> = process.env): AgentConfig {
  if (path === undefined || path.trim() === '') return parseAgentConfig(DEFAULT_AGENT_CONFIG_INPUT, 'built-in defaults', env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentConfigError(path, [`cannot read the file: ${err instanceof Error ? err.message : String(err)}`]);
  }
  return parseAgentConfig(parseText(text, path), path, env);
}
