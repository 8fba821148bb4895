export * from './redis.js';
export * from './keys.js';
export * from './mailbox.js';
export * from './queues.js';
export * from './ledger.js';
export * from './stats.js';
export * from './depths.js';
export * from './accept.js';
