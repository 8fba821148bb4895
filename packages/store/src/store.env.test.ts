import { ConfigError, loadConfig } from '@switchboard/core';
import { requireDatabaseUrl, storeEnv } from './store.env';

test('DATABASE_URL is optional (pnpm start fills it), the pool has a default', () => {
  expect(loadConfig(storeEnv, {})).toEqual({ DATABASE_URL: undefined, DATABASE_POOL_MAX: 10 });
  expect(loadConfig(storeEnv, { DATABASE_URL: ' ', DATABASE_POOL_MAX: '3' })).toEqual({ DATABASE_URL: undefined, DATABASE_POOL_MAX: 3 });
});

test('a pool below one connection is a configuration error', () => {
  expect(() => loadConfig(storeEnv, { DATABASE_POOL_MAX: '0' })).toThrow(ConfigError);
});

test('requireDatabaseUrl says how to get a store when there is none', () => {
  expect(requireDatabaseUrl({ DATABASE_URL: 'postgres://h/db' })).toBe('postgres://h/db');
  expect(() => requireDatabaseUrl({ DATABASE_URL: undefined })).toThrow(/pnpm start.*embedded store/);
});
