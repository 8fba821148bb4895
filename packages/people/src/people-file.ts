import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, PERSON_IDENTIFIER_KINDS, type Logger } from '@switchboard/core';
import { IdentifierTakenError, type PeopleDirectory } from './directory.js';
import { issueLines, PersonId, PersonInput } from './person.schema.js';

const OneOrMany = z.union([z.string().min(1), z.number().transform(String), z.array(z.union([z.string().min(1), z.number().transform(String)]))]).transform((v) => (Array.isArray(v) ? v : [v]));

/** One entry of PEOPLE_FILE: a person with an `id`, identifiers as shorthand keys (`phone: …`) and/or `identifiers`. */
const FileEntry = z.looseObject({ id: PersonId }).transform((raw, ctx) => {
  const { id, identifiers, ...rest } = raw as Record<string, unknown> & { id: string };
  const short: Array<{ kind: string; value: string }> = [];
  const other: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (!(PERSON_IDENTIFIER_KINDS as readonly string[]).includes(k)) {
      other[k] = v;
      continue;
    }
    const values = OneOrMany.safeParse(v);
    if (!values.success) ctx.addIssue({ code: 'custom', path: [k], message: 'must be a value or a list of values' });
    else short.push(...values.data.map((value) => ({ kind: k, value })));
  }
  const parsed = PersonInput.safeParse({ ...other, identifiers: [...(Array.isArray(identifiers) ? (identifiers as unknown[]) : []), ...short] });
  if (!parsed.success) {
    for (const line of issueLines(parsed.error)) ctx.addIssue({ code: 'custom', message: line });
    return z.NEVER;
  }
  return { id, input: parsed.data };
});

const PeopleFile = z.strictObject({ people: z.array(FileEntry).default([]) });

/** Reads and checks PEOPLE_FILE (YAML or JSON); throws ConfigError naming every problem. */
export function readPeopleFile(path: string): Array<{ id: string; input: PersonInput }> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`PEOPLE_FILE: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const parsed = PeopleFile.safeParse(doc ?? {});
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `PEOPLE_FILE: ${i.path.join('.') || '(file)'}: ${i.message}`));
  const seen = new Set<string>();
  const dupes = parsed.data.people.filter((p) => (seen.has(p.id) ? true : (seen.add(p.id), false))).map((p) => p.id);
  if (dupes.length) throw new ConfigError(dupes.map((d) => `PEOPLE_FILE: person id "${d}" appears twice`));
  return parsed.data.people;
}

/**
 * Writes PEOPLE_FILE's people into the directory (source `file`) and removes the file's people no
 * longer listed; people of the API or an import are never touched. All or nothing.
 */
export async function syncPeopleFile(directory: PeopleDirectory, path: string): Promise<{ people: number }> {
  const entries = readPeopleFile(path);
  try {
    await directory.putMany(entries, 'file');
  } catch (err) {
    // an identifier of a person outside the file is the file's problem; a lost race with another worker (no owner known) is retried
    if (err instanceof IdentifierTakenError && err.ownerId !== undefined) throw new ConfigError([`PEOPLE_FILE: ${err.message}`]);
    throw err;
  }
  await directory.deleteMissing('file', entries.map((e) => e.id));
  return { people: entries.length };
}

/** What identifies one content of the file: an edit changes mtime or size, a replacing rename the inode. */
async function fileVersion(path: string): Promise<string | undefined> {
  const s = await stat(path).catch(() => undefined);
  return s && `${s.ino}:${s.mtimeMs}:${s.size}`;
}

/**
 * Syncs PEOPLE_FILE now (rejecting on a bad file: the process must not start with it) and again
 * whenever it changes (polled every `intervalMs`; a bad edit is logged and the previous
 * directory kept). `onSynced` runs after each sync (clear look-up caches). Returns a stop function.
 */
export async function watchPeopleFile(directory: PeopleDirectory, path: string, log: Logger, onSynced: () => void, intervalMs = 2000): Promise<() => void> {
  // the version is taken before each read and compared with the file's current one on every poll, so
  // an edit made while a sync reads (or before the first poll) is seen on the next poll, never missed
  let synced = await fileVersion(path);
  // workers starting together sync the same file at once: a lost race is retried
  let first: { people: number } | undefined;
  for (let attempt = 1; !first; attempt += 1) {
    try {
      first = await syncPeopleFile(directory, path);
    } catch (err) {
      if (attempt >= 3 || err instanceof ConfigError) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
  log.info('people file loaded', { people: first.people });
  onSynced();
  let busy = false;
  const poll = async () => {
    const version = await fileVersion(path);
    // a file that is gone for a moment (an editor replacing it) keeps the directory as it is
    if (version === undefined || version === synced) return;
    synced = version;
    try {
      const { people } = await syncPeopleFile(directory, path);
      log.info('people file reloaded', { people });
      onSynced();
    } catch (err) {
      // a store that failed for a moment is tried again on the next poll; a bad file waits for its next edit
      if (!(err instanceof ConfigError)) synced = undefined;
      log.error('people file not reloaded; the directory keeps its previous entries', { err: err instanceof ConfigError ? err.problems.join('; ') : err instanceof Error ? err.message : String(err) });
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void poll().finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
