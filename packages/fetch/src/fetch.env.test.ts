import { ConfigError, loadConfig } from '@switchboard/core';
import { fetchEnv, normalizeOrigin } from './fetch.env';

describe('fetchEnv', () => {
  it('has safe defaults', () => {
    expect(loadConfig(fetchEnv, {})).toEqual({ FETCH_ALLOWED_ORIGINS: [], FETCH_MAX_REDIRECTS: 5, WHATSAPP_MEDIA_ORIGINS: ['https://lookaside.fbsbx.com'] });
  });

  it('normalizes origins (case, default ports, trailing slash)', () => {
    const env = loadConfig(fetchEnv, { FETCH_ALLOWED_ORIGINS: ' HTTP://Files.Internal:80/ , https://cdn.example.com:8443', WHATSAPP_MEDIA_ORIGINS: 'https://lookaside.fbsbx.com,https://scontent.whatsapp.net:443' });
    expect(env.FETCH_ALLOWED_ORIGINS).toEqual(['http://files.internal', 'https://cdn.example.com:8443']);
    expect(env.WHATSAPP_MEDIA_ORIGINS).toEqual(['https://lookaside.fbsbx.com', 'https://scontent.whatsapp.net']);
    expect(normalizeOrigin('http://[::1]:3000')).toBe('http://[::1]:3000');
  });

  it.each(['ftp://x.example', 'https://x.example/path', 'https://u:p@x.example', 'not a url'])('refuses %s as an origin', (value) => {
    expect(() => loadConfig(fetchEnv, { FETCH_ALLOWED_ORIGINS: value })).toThrow(ConfigError);
  });
});
