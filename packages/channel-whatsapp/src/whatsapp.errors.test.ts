import { ConfigurationError, ProviderRateLimitedError, ProviderRejectedError, ProviderUnavailableError } from '@switchboard/core';
import { fixtureJson } from '@switchboard/testkit';
import { classifyGraphError, type GraphErrorBody } from './whatsapp.errors';

const body = (code: number): GraphErrorBody => ({ error: { code, message: `(#${code})` } });

describe('classifyGraphError', () => {
  it('130429 (fixture) is an account-wide rate limit', () => {
    const err = classifyGraphError(400, fixtureJson<GraphErrorBody>('whatsapp', 'send-error-130429.json'));
    expect(err).toBeInstanceOf(ProviderRateLimitedError);
    expect((err as ProviderRateLimitedError).scope).toBe('account');
  });
  it('131047 (fixture) is rejected, not retried', () => {
    const err = classifyGraphError(400, fixtureJson<GraphErrorBody>('whatsapp', 'send-error-131047.json'));
    expect(err).toBeInstanceOf(ProviderRejectedError);
    expect(err.retryable).toBe(false);
  });
  it('131056 pair rate limits only the recipient', () => {
    const err = classifyGraphError(400, body(131056)) as ProviderRateLimitedError;
    expect(err.scope).toBe('recipient');
  });
  it.each([131000, 1, 2, 131016, 133004, 131057])('%i is temporary', (code) => {
    expect(classifyGraphError(500, body(code))).toBeInstanceOf(ProviderUnavailableError);
  });
  it.each([131026, 131051, 100, 131009, 132001])('%i is not retried', (code) => {
    expect(classifyGraphError(400, body(code)).retryable).toBe(false);
  });
  it('190 and 0 are configuration errors', () => {
    expect(classifyGraphError(401, body(190))).toBeInstanceOf(ConfigurationError);
    expect(classifyGraphError(401, body(0))).toBeInstanceOf(ConfigurationError);
  });
  it('network errors and bare 5xx are retryable', () => {
    expect(classifyGraphError(undefined, undefined).retryable).toBe(true);
    expect(classifyGraphError(502, undefined).retryable).toBe(true);
  });
});
