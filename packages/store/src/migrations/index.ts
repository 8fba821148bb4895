import type { Migration } from 'kysely';
import * as m0001 from './0001_store_meta.js';
import * as m0002 from './0002_knowledge.js';
import * as m0003 from './0003_knowledge_source.js';
import * as m0004 from './0004_record.js';
import * as m0005 from './0005_record_media_text_erasure.js';
import * as m0006 from './0006_people.js';

/**
 * Every migration, in order; the key is the name recorded in `store_migration`. Listed here (not
 * read from the directory) so the set is fixed at build time and works the same under jest and
 * from `dist/`.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_store_meta': m0001,
  '0002_knowledge': m0002,
  '0003_knowledge_source': m0003,
  '0004_record': m0004,
  '0005_record_media_text_erasure': m0005,
  '0006_people': m0006,
};
