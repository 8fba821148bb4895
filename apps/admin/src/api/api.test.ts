import { ConfigError } from '@switchboard/core';
import { parseApiKeys } from './api';

describe('parseApiKeys', () => {
  it('reads name:secret pairs (the secret may contain colons); unset or blank = no keys', () => {
    expect(parseApiKeys(undefined)).toEqual([]);
    expect(parseApiKeys('  ')).toEqual([]);
    expect(parseApiKeys(' crm:0123456789abcdef:x , ops:fedcba9876543210 ')).toEqual([
      { name: 'crm', secret: '0123456789abcdef:x' },
      { name: 'ops', secret: 'fedcba9876543210' },
    ]);
  });

  it('reports every problem at once and never a secret', () => {
    let err: unknown;
    try {
      parseApiKeys('nosecret,ops:short-secret-1,ops:0123456789abcdef,crm:0123456789abcdef,:orphan-secret-000000');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = String((err as Error).message);
    expect(msg).toMatch(/entry 1/);
    expect(msg).toMatch(/"ops": the secret must be at least 16/);
    expect(msg).toMatch(/"ops" is used twice/);
    expect(msg).toMatch(/key "crm": the same secret as key "ops"/);
    expect(msg).toMatch(/entry 5/);
    for (const s of ['short-secret-1', '0123456789abcdef', 'orphan-secret']) expect(msg).not.toContain(s);
  });
});
