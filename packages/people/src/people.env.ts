import { type z } from 'zod';
import { int, optional } from '@switchboard/core';

/** Environment fragment of the directory of known people (worker and admin). */
export const peopleEnv = {
  /** YAML or JSON file of known people (`people: [...]`), synced into the store at start and on change; unset = none. */
  PEOPLE_FILE: optional(),
  /** How long a worker keeps a directory look-up (who is this sender?) before asking the store again. */
  PEOPLE_CACHE_TTL_MS: int(30_000, 0, 3_600_000),
};

/** Parsed values of {@link peopleEnv}. */
export type PeopleEnv = z.infer<z.ZodObject<typeof peopleEnv>>;
