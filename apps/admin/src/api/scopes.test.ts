import { ConfigError } from '@switchboard/core';
import { parseApiKeyScopes } from './scopes';

const KEYS = [
  { name: 'orders', secret: 'x'.repeat(16) },
  { name: 'ops', secret: 'y'.repeat(16) },
  { name: 'crm', secret: 'z'.repeat(16) },
];

describe('parseApiKeyScopes', () => {
  it('gives listed keys their scopes and every other key every scope', () => {
    const s = parseApiKeyScopes(' orders:send+read , ops:admin ', KEYS);
    expect(s.get('orders')).toEqual(['send', 'read']);
    expect(s.get('ops')).toEqual(['admin']);
    expect(s.get('crm')).toEqual(['send', 'read', 'knowledge', 'people', 'admin']);
    expect(parseApiKeyScopes(undefined, KEYS).get('orders')).toEqual(['send', 'read', 'knowledge', 'people', 'admin']);
  });

  it('reports every problem at once', () => {
    let err: unknown;
    try {
      parseApiKeyScopes('orders:send+write,nobody:read,ops,ops:admin,crm:read:x', KEYS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = String((err as Error).message);
    expect(msg).toMatch(/unknown scope "write"/);
    expect(msg).toMatch(/"nobody" is not a key of API_KEYS/);
    expect(msg).toMatch(/entry 3: expected name:scope/);
    expect(msg).toMatch(/entry 5: expected name:scope/);
  });
});
