/**
 * The record: every conversation, message, status, ownership change and bot turn kept in the
 * store, and the queries that read it (timelines, search, export, analytics).
 * @see ../../../docs/architecture.md
 */
export * from './record.keys.js';
export * from './record.cursor.js';
export * from './record.search.js';
export * from './record.reader.js';
export * from './record.analytics.js';
