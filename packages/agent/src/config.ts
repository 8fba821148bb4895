import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { DEFAULT_FAQ } from './config.defaults.js';
import { AgentConfigSchema, configReferenceProblems, type AgentConfig, type AgentConfigInput } from './config.schema.js';
import { AgentConfigError } from './errors.js';

export { AgentConfigSchema, type AgentConfig, type AgentConfigInput } from './config.schema.js';

/** Names of the built-in tools; config tools may not reuse them. */
export const BUILTIN_TOOL_NAMES = ['handoff_to_human', 'send_options', 'save_customer_fact', 'generate_image', 'search_knowledge', 'request_verification_code'] as const;

/** The configuration used when AGENT_CONFIG is unset: default prompt, greetings, notices and a few FAQ entries. */
export const DEFAULT_AGENT_CONFIG_INPUT: AgentConfigInput = { faq: DEFAULT_FAQ };

const ENV_REF = /\$\{([A-Z_][A-Z0-9_]*)\}/g;
const URL_PARAM = /\{([a-zA-Z0-9_]+)\}/g;

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asRecord = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Checks that zod cannot express: unique ids and names, tool URL placeholders and `${ENV}`
 * references. Runs on the raw input (defensively) so its problems are reported together with
 * the schema's.
 */
function crossCheck(raw: unknown, source: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const root = asRecord(raw);
  const faqIds = new Set<string>();
  asArray(root.faq).forEach((entry, i) => {
    const id = asString(asRecord(entry).id);
    if (id === undefined) return;
    if (faqIds.has(id)) problems.push(`faq.${i}.id: duplicate FAQ id "${id}"`);
    faqIds.add(id);
  });
  const variants = asArray(root.variants).map(asRecord);
  const variantNames = new Set<string>();
  variants.forEach((v, i) => {
    const name = asString(v.name);
    if (name === undefined) return;
    if (variantNames.has(name)) problems.push(`variants.${i}.name: duplicate variant "${name}"`);
    variantNames.add(name);
  });
  if (variants.length && variants.every((v) => v.weight === 0)) problems.push('variants: at least one weight must be above 0');
  const toolNames = new Set<string>(BUILTIN_TOOL_NAMES);
  asArray(asRecord(root.tools).http).forEach((t, i) => {
    const tool = asRecord(t);
    const at = `tools.http.${i}`;
    const name = asString(tool.name);
    if (name !== undefined) {
      if (toolNames.has(name)) problems.push(`${at}.name: "${name}" is already used (built-in or duplicate)`);
      toolNames.add(name);
    }
    const url = asString(tool.url);
    if (url) {
      const props = asRecord(asRecord(tool.parameters).properties);
      for (const [, param] of url.matchAll(URL_PARAM)) {
        if (param && !(param in props)) problems.push(`${at}.url: placeholder {${param}} is not a property of parameters`);
      }
      try {
        const u = new URL(url.replace(URL_PARAM, 'x'));
        if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`${at}.url: must be http(s)`);
      } catch {
        problems.push(`${at}.url: not a valid URL template ("${url}")`);
      }
    }
    for (const [header, value] of Object.entries(asRecord(tool.headers))) {
      for (const [, envName] of (asString(value) ?? '').matchAll(ENV_REF)) {
        if (envName && !source[envName]) problems.push(`${at}.headers.${header}: environment variable ${envName} is not set`);
      }
    }
  });
  return problems;
}

/** Replaces `${NAME}` in tool headers with environment values (`crossCheck` proved them present). */
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
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)),
    ...crossCheck(raw, env),
    ...(parsed.success ? configReferenceProblems(parsed.data) : []),
  ];
  if (problems.length || !parsed.success) throw new AgentConfigError(sourceName, problems);
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
