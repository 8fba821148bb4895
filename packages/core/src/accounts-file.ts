import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './config.js';
import { ChannelId } from './model.js';

/**
 * `ACCOUNTS_FILE`: any number of accounts per channel, as data (YAML or JSON). The channel's
 * environment variables keep defining the account `default`; the file adds the others.
 *
 * Reading is in two steps so every process names every problem at once: {@link readAccountsFile}
 * checks what all entries share (id, channel, `${NAME}` references, `agent` paths), then each
 * channel checks its own keys against its {@link AccountFileReader} ({@link accountsOfChannel}).
 * Problems name the entry and the key, never a value (values are secrets).
 */

/** Account ids as they appear in routes (`/webhooks/<channel>/<accountId>`). */
export const ACCOUNT_ID_PATTERN = /^[a-z0-9-]{1,40}$/;

/** The account the bare route `/webhooks/<channel>` serves (the one the channel's environment variables define). */
export const DEFAULT_ACCOUNT_ID = 'default';

/** Keys every entry may have whatever its channel; the rest belong to the channel. */
const COMMON_KEYS = ['id', 'channel', 'agent', 'title', 'mirror'] as const;

/** One entry of the file, checked for what all channels share. */
export interface AccountEntry {
  readonly id: string;
  readonly channel: ChannelId;
  /** Display name for the console (defaults to the id). */
  readonly title?: string;
  /** Absolute path of this account's `AGENT_CONFIG` (relative paths are resolved from the file's directory). */
  readonly agent?: string;
  /**
   * The account that mirrors this account's conversations (e.g. a Chatwoot account with a mirror
   * inbox); absent = the mirroring channel's `default` account when it mirrors, else its first one.
   */
  readonly mirror?: string;
  /** The channel's own keys, `${NAME}` references resolved. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Where the entry is, for problems: `accounts[2] (shop-de)`. */
  readonly where: string;
}

/** A read and checked `ACCOUNTS_FILE`. */
export interface AccountsFile {
  readonly path: string;
  readonly entries: readonly AccountEntry[];
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${NAME}` in every string of `value`; names that are unset or empty are reported at `at`. */
function resolveEnvRefs(value: unknown, env: Readonly<Record<string, string | undefined>>, at: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') {
        problems.push(`${at}: environment variable ${name} is not set`);
        // keep the reference: the channel's check of the entry then names only its other problems
        return `\${${name}}`;
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnvRefs(v, env, `${at}[${i}]`, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnvRefs(v, env, `${at}.${k}`, problems)]));
  }
  return value;
}

/** Parses YAML (a superset of JSON) or, for `.json` files, JSON. */
function parseText(path: string, text: string): unknown {
  return path.toLowerCase().endsWith('.json') ? JSON.parse(text) : parseYaml(text);
}

/**
 * Reads `ACCOUNTS_FILE`. Throws one {@link ConfigError} naming every problem shared by all
 * channels: unreadable file, not a list under `accounts`, an id outside `[a-z0-9-]{1,40}`, an
 * unknown channel, the reserved id `default`, an id listed twice for one channel, a `${NAME}` that
 * is unset, a missing `agent` file. Channel keys are checked by {@link accountsOfChannel}, or here by
 * `check` (e.g. {@link accountFileProblems} of each channel the process serves) over the entries
 * that passed, so one report names the problems of both steps.
 */
export function readAccountsFile(
  path: string,
  // eslint-disable-next-line no-restricted-properties -- the default source, as loadConfig's: callers pass their own in tests
  env: Readonly<Record<string, string | undefined>> = process.env,
  /** The channels' own checks (e.g. {@link accountFileProblems}), run on every entry with a valid id and channel so one error names every problem. */
  checkChannels?: (file: AccountsFile) => string[],
): AccountsFile {
  const label = `ACCOUNTS_FILE ${path}`;
  let doc: unknown;
  try {
    doc = parseText(path, readFileSync(path, 'utf8'));
  } catch (err) {
    // Node's JSON.parse messages quote the text around the error (possibly a secret): name the kind only
    const reason = err instanceof SyntaxError && path.toLowerCase().endsWith('.json') ? 'not valid JSON' : err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError([`${label}: cannot be read (${reason})`]);
  }
  const list = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>)['accounts'] : undefined;
  if (!Array.isArray(list)) throw new ConfigError([`${label}: expected a list under "accounts"`]);
  const problems: string[] = [];
  const entries: AccountEntry[] = [];
  /** Entries with a valid id and channel, whatever else is wrong with them: their channel keys are checked too. */
  const checkable: AccountEntry[] = [];
  const seen = new Set<string>();
  const dir = dirname(resolve(path));
  list.forEach((raw: unknown, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`accounts[${i}]: expected an object with id and channel`);
      return;
    }
    const item = raw as Record<string, unknown>;
    const id = typeof item['id'] === 'string' ? item['id'] : undefined;
    const where = `accounts[${i}]${id && ACCOUNT_ID_PATTERN.test(id) ? ` (${id})` : ''}`;
    const before = problems.length;
    if (!id) problems.push(`${where}.id: required`);
    else if (!ACCOUNT_ID_PATTERN.test(id)) problems.push(`${where}.id: must match [a-z0-9-]{1,40}`);
    else if (id === DEFAULT_ACCOUNT_ID) problems.push(`${where}.id: "default" is the account the channel's environment variables define; choose another id`);
    const channel = ChannelId.safeParse(item['channel']);
    if (!channel.success) problems.push(`${where}.channel: must be one of ${ChannelId.options.join(', ')}`);
    if (item['title'] !== undefined && typeof item['title'] !== 'string') problems.push(`${where}.title: must be text`);
    const mirror = item['mirror'];
    if (mirror !== undefined && (typeof mirror !== 'string' || !ACCOUNT_ID_PATTERN.test(mirror))) problems.push(`${where}.mirror: must be the id of an account that mirrors conversations`);
    const agentRaw = resolveEnvRefs(item['agent'], env, `${where}.agent`, problems);
    let agent: string | undefined;
    if (agentRaw !== undefined) {
      if (typeof agentRaw !== 'string' || agentRaw.trim() === '') problems.push(`${where}.agent: must be a file path`);
      else {
        agent = isAbsolute(agentRaw) ? agentRaw : resolve(dir, agentRaw);
        try {
          readFileSync(agent);
        } catch {
          problems.push(`${where}.agent: file ${agent} cannot be read`);
        }
      }
    }
    const own = Object.fromEntries(Object.entries(item).filter(([k]) => !(COMMON_KEYS as readonly string[]).includes(k)));
    const fields = resolveEnvRefs(own, env, where, problems) as Record<string, unknown>;
    if (id && channel.success) {
      const key = `${channel.data}/${id}`;
      if (seen.has(key)) problems.push(`${where}.id: ${channel.data} account "${id}" is listed twice`);
      seen.add(key);
    }
    if (id && ACCOUNT_ID_PATTERN.test(id) && channel.success) {
      const entry: AccountEntry = { id, channel: channel.data, ...(typeof item['title'] === 'string' ? { title: item['title'] } : {}), ...(agent ? { agent } : {}), ...(typeof mirror === 'string' ? { mirror } : {}), fields, where };
      checkable.push(entry);
      if (problems.length === before) entries.push(entry);
    }
  });
  const all = [...problems.map((p) => `${label}: ${p}`), ...(checkChannels?.({ path, entries: checkable }) ?? [])];
  if (all.length > 0) throw new ConfigError(all);
  return { path, entries };
}

/**
 * How a channel reads its accounts from the file: the schema of its own keys (a strict object, so a
 * misspelt key is reported) and the typed settings they give. Declared once per channel half.
 * @typeParam S settings of one account
 * @typeParam Env what the half adds from its environment (the worker: API base URLs, defaults)
 */
export interface AccountFileReader<S, Env = void> {
  readonly schema: z.ZodType;
  settings(entry: AccountEntry, env: Env): S;
}

/** Builds an {@link AccountFileReader} whose `settings` receives the schema's typed output. */
export function defineAccountFile<T extends z.ZodType, S, Env = void>(schema: T, settings: (fields: z.output<T>, entry: AccountEntry, env: Env) => S): AccountFileReader<S, Env> {
  return {
    schema,
    settings: (entry, env) => settings(schema.parse(entry.fields), entry, env),
  };
}

/** Problems of the entries of `channel` against its schema (empty = all fine). */
export function accountFileProblems(file: AccountsFile, channel: ChannelId, schema: z.ZodType): string[] {
  const problems: string[] = [];
  for (const entry of file.entries) {
    if (entry.channel !== channel) continue;
    const parsed = schema.safeParse(entry.fields);
    if (parsed.success) continue;
    for (const issue of parsed.error.issues) {
      const key = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
      // zod's own messages name types and keys, never the received value
      problems.push(`ACCOUNTS_FILE ${file.path}: ${entry.where}${key}: ${issue.message}`);
    }
  }
  return problems;
}

/**
 * The file's accounts of one channel, as typed settings. Throws one {@link ConfigError} naming
 * every problem of this channel's entries.
 */
export function accountsOfChannel<S, Env>(file: AccountsFile | undefined, channel: ChannelId, reader: AccountFileReader<S, Env>, env: Env): Array<{ readonly id: string; readonly settings: S; readonly entry: AccountEntry }> {
  if (!file) return [];
  const problems = accountFileProblems(file, channel, reader.schema);
  if (problems.length > 0) throw new ConfigError(problems);
  return file.entries.filter((e) => e.channel === channel).map((entry) => ({ id: entry.id, settings: reader.settings(entry, env), entry }));
}

/** A summary safe for logs and the console: ids, channels and titles, never a setting. */
export function describeAccounts(file: AccountsFile): Array<{ id: string; channel: ChannelId; title?: string; agent?: string; mirror?: string }> {
  return file.entries.map((e) => ({ id: e.id, channel: e.channel, ...(e.title ? { title: e.title } : {}), ...(e.agent ? { agent: e.agent } : {}), ...(e.mirror ? { mirror: e.mirror } : {}) }));
}
