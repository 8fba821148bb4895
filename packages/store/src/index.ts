export * from './store.env.js';
export * from './schema.js';
export * from './store.js';
export * from './migrate.js';
export * from './vector.js';
export * from './text-search/terms.js';
export * from './text-search/tsvector.js';
export { migrations } from './migrations/index.js';
/** The query layer, re-exported so users of the store need no second copy of it. */
export { sql, type Kysely, type RawBuilder, type Transaction, type Selectable, type Insertable, type Updateable } from 'kysely';
