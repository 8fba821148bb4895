import { silentLogger } from '@switchboard/core';
import { testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { Agent } from './agent.js';
import { parseAgentConfig } from './config.js';
import { AgentConfigError } from './errors.js';

/** AGENT_CONFIG `access`: who the bot answers on the account the configuration serves, on any channel. */
describe('agent access list', () => {
  const redis = new Redis(testRedisUrl());
  afterAll(() => redis.quit());
  const agent = (access: unknown) =>
    new Agent({ config: parseAgentConfig({ access, defaultLanguage: 'de' }, 'test', {}), env: { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 1000 }, redis, prefix: uniquePrefix('access'), log: silentLogger() });

  it('answers everyone by default', () => {
    expect(agent(undefined).admit({ userId: '123' })).toEqual({ allowed: true });
  });

  it('matches the customer id, the reply address or the phone, with or without a leading +', () => {
    const a = agent({ allowedUsers: ['+4915100000001', '987654321'] });
    expect(a.admit({ userId: '4915100000001' })).toEqual({ allowed: true });
    expect(a.admit({ userId: 'US.1', address: '4915100000001' })).toEqual({ allowed: true });
    expect(a.admit({ userId: 'x', phone: '+987654321' })).toEqual({ allowed: true });
    expect(a.admit({ userId: '555' })).toMatchObject({ allowed: false, reason: expect.stringContaining('access list') });
    expect(a.admit({ userId: '555' })).not.toHaveProperty('refusal');
  });

  it('refuses with the localized refusal text (default language) when the policy is refuse', () => {
    const a = agent({ allowedUsers: ['1'], disallowedPolicy: 'refuse', refusalText: { en: 'Not for you.', de: 'Nicht verfügbar.' } });
    expect(a.admit({ userId: '2' })).toMatchObject({ allowed: false, refusal: { text: 'Nicht verfügbar.' } });
  });

  it('a misspelt key or policy is a configuration error', () => {
    expect(() => parseAgentConfig({ access: { allowedUser: ['1'] } }, 'test', {})).toThrow(AgentConfigError);
    expect(() => parseAgentConfig({ access: { disallowedPolicy: 'block' } }, 'test', {})).toThrow(AgentConfigError);
  });
});
