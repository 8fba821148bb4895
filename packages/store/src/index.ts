export * from './store.env.js';
export * from './schema.js';
export * from './store.js';
export * from './migrate.js';
export * from './vector.js';
export { migrations } from './migrations/index.js';
