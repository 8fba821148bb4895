import express from 'express';
import request from 'supertest';
import { basicAuth, parseBasicAuth, safeEqual } from './auth';

const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('admin basic auth', () => {
  it('compares in constant time over hashes, whatever the lengths', () => {
    expect(safeEqual('secret', 'secret')).toBe(true);
    expect(safeEqual('secret', 'secreT')).toBe(false);
    expect(safeEqual('short', 'a much longer value')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });

  it('parses Basic credentials, keeping colons of the password', () => {
    expect(parseBasicAuth(header('ops', 'pa:ss:word'))).toEqual({ user: 'ops', password: 'pa:ss:word' });
    expect(parseBasicAuth(undefined)).toBeUndefined();
    expect(parseBasicAuth('Bearer abc')).toBeUndefined();
    expect(parseBasicAuth(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
  });

  it('answers 401 with a challenge unless both user and password match', async () => {
    const app = express();
    app.use(basicAuth({ user: 'ops', password: 'pw' }));
    app.get('/', (_req, res) => res.send('in'));
    const none = await request(app).get('/');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="switchboard admin", charset="UTF-8"');
    expect((await request(app).get('/').set('Authorization', header('ops', 'nope'))).status).toBe(401);
    expect((await request(app).get('/').set('Authorization', header('root', 'pw'))).status).toBe(401);
    const ok = await request(app).get('/').set('Authorization', header('ops', 'pw'));
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('in');
  });
});
