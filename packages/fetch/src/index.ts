/**
 * The guarded fetcher: the one way the gateway downloads a URL that came from outside (provider
 * media, Chatwoot attachments, reply media by URL). Public addresses only (checked after DNS, on
 * every redirect, socket pinned to the checked address), configured provider origins and
 * FETCH_ALLOWED_ORIGINS excepted; provider credentials only to their own origins.
 */
export * from './fetch.address.js';
export * from './fetch.errors.js';
export * from './fetch.env.js';
export * from './fetch.resolve.js';
export * from './fetch.guard.js';
export * from './fetch.metrics.js';
