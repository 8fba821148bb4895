import { ConfigurationError, ProviderRateLimitedError, ProviderRejectedError, ProviderUnavailableError } from '@switchboard/core';
import { fixtureJson } from '@switchboard/testkit';
import { wechatApiError } from './wechat.errors.js';

describe('wechat errcode mapping', () => {
  it.each([95001, 95002, 95031, 95013, 95018])('%i is rejected for good (not retried)', (code) => {
    const err = wechatApiError('kf/send_msg', code, 'x');
    expect(err).toBeInstanceOf(ProviderRejectedError);
    expect(err.retryable).toBe(false);
    expect((err as ProviderRejectedError).providerCode).toBe(String(code));
  });

  it('45009 and 45033 back off as rate limits; -1 is retried as unavailable', () => {
    const e45009 = wechatApiError('kf/sync_msg', 45009, 'api freq out of limit');
    expect(e45009).toBeInstanceOf(ProviderRateLimitedError);
    expect((e45009 as ProviderRateLimitedError).retryAfterMs).toBe(60_000);
    expect(wechatApiError('kf/send_msg', 45033, '')).toBeInstanceOf(ProviderRateLimitedError);
    const busy = wechatApiError('kf/send_msg', -1, 'system busy');
    expect(busy).toBeInstanceOf(ProviderUnavailableError);
    expect(busy.retryable).toBe(true);
  });

  it.each([40001, 40013, 60020, 95000, 95011, 95017])('%i is a configuration error', (code) => {
    const err = wechatApiError('gettoken', code, '');
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.retryable).toBe(false);
  });

  it('matches on errcode only (fixture error bodies)', () => {
    const bodies = fixtureJson<Record<string, { errcode: number; errmsg: string }>>('wechat-kf', 'error-responses.json');
    expect(wechatApiError('kf/send_msg', bodies['session_state_invalid']!.errcode, bodies['session_state_invalid']!.errmsg).message).toContain('a human holds the session');
    expect(wechatApiError('kf/sync_msg', bodies['sync_msg_freq_limit']!.errcode, 'whatever text')).toBeInstanceOf(ProviderRateLimitedError);
    expect(wechatApiError('kf/send_msg', bodies['token_expired']!.errcode, '').retryable).toBe(true);
  });
});
