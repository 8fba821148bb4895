import { ConfigError, loadConfig } from '@switchboard/core';
import { apiCallbackSettings } from './api-callback-settings';
import { workerEnv } from './env';

/** The worker's whole environment, as the worker parses it. */
const loadWorkerEnv = (vars: Record<string, string>) => loadConfig(workerEnv, vars);

const SECRET = 'cb-secret-do-not-log-0001';

function settingsOf(vars: Record<string, string>) {
  return apiCallbackSettings(loadWorkerEnv({ REDIS_URL: 'redis://127.0.0.1:6379', ...vars }));
}

function problemsOf(vars: Record<string, string>): string[] {
  try {
    settingsOf(vars);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('API callback settings', () => {
  it('are off without API_CALLBACK_URL (an empty value is unset)', () => {
    expect(settingsOf({})).toBeUndefined();
    expect(settingsOf({ API_CALLBACK_URL: '', API_CALLBACK_SECRET: SECRET })).toBeUndefined();
  });

  it('take the URL as configured (loopback and a trailing slash included), the secret and a 5 s timeout by default', () => {
    expect(settingsOf({ API_CALLBACK_URL: 'http://127.0.0.1:8080/hooks/switchboard/', API_CALLBACK_SECRET: SECRET })).toEqual({
      url: 'http://127.0.0.1:8080/hooks/switchboard/',
      secret: SECRET,
      timeoutMs: 5000,
    });
    expect(settingsOf({ API_CALLBACK_URL: 'https://shop.example/cb', API_CALLBACK_SECRET: SECRET, API_CALLBACK_TIMEOUT_MS: '1500' })?.timeoutMs).toBe(1500);
  });

  it('need API_CALLBACK_SECRET with the URL, and never quote it', () => {
    expect(problemsOf({ API_CALLBACK_URL: 'https://shop.example/cb' })).toEqual([expect.stringMatching(/^API_CALLBACK_SECRET: required when API_CALLBACK_URL is set/)]);
    const short = 'short-secret';
    const problems = problemsOf({ API_CALLBACK_URL: 'https://shop.example/cb', API_CALLBACK_SECRET: short });
    expect(problems).toEqual([expect.stringMatching(/^API_CALLBACK_SECRET: at least 16 characters/)]);
    expect(problems.join(' ')).not.toContain(short);
  });

  it('name every problem at once: a URL that is not http(s), credentials in it', () => {
    expect(problemsOf({ API_CALLBACK_URL: 'not a url' })).toEqual(['API_CALLBACK_URL: not a URL', expect.stringMatching(/^API_CALLBACK_SECRET: required/)]);
    expect(problemsOf({ API_CALLBACK_URL: 'ftp://shop.example/cb', API_CALLBACK_SECRET: SECRET })).toEqual(['API_CALLBACK_URL: must be an http or https URL']);
    const problems = problemsOf({ API_CALLBACK_URL: 'https://user:pw-secret@shop.example/cb', API_CALLBACK_SECRET: SECRET });
    expect(problems).toEqual([expect.stringMatching(/^API_CALLBACK_URL: must not carry credentials/)]);
    expect(problems.join(' ')).not.toContain('pw-secret');
  });

  it('reject a timeout out of range', () => {
    expect(() => loadWorkerEnv({ API_CALLBACK_TIMEOUT_MS: '10' })).toThrow(/API_CALLBACK_TIMEOUT_MS/);
  });
});
