/**
 * `/api/docs` and `/api/v1/openapi.json` without a browser: served without a key, the page loads
 * only this app's own files (no CDN) under the admin's CSP, and those files are served.
 */
import request from 'supertest';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createAdminApp } from './app';

describe('API docs page', () => {
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    const prefix = uniquePrefix('apidocs');
    producers = new Producers(redis, prefix);
    app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'api-docs-test' }), redis, producers, prefix, auth: { user: 'ops', password: 'a long admin password' }, apiKeys: [{ name: 'k', secret: 'docs-test-secret-0123456789' }] });
  });
  afterAll(async () => {
    await producers.close();
    redis.disconnect();
  });

  it('serves the OpenAPI document without a key', async () => {
    const res = await request(app).get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toMatchObject({ openapi: '3.1.0', info: { title: 'Switchboard API' } });
    // the rest of /api/v1 still needs one
    expect((await request(app).get('/api/v1/keys')).status).toBe(401);
  });

  it('renders the document with scripts and styles of this app only, allowed by its CSP', async () => {
    const page = await request(app).get('/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    const refs = [...page.text.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) expect(ref).toMatch(/^\/api\/docs\//);
    expect(page.text).not.toMatch(/<script>(?!<\/script>)|<script\s+type="module">|on(load|click)=/i);
    for (const ref of refs) {
      const asset = await request(app).get(ref);
      expect([ref, asset.status]).toEqual([ref, 200]);
      expect(Number(asset.headers['content-length'] ?? asset.text?.length ?? 0)).toBeGreaterThan(0);
    }
    const init = await request(app).get('/api/docs/init.js');
    expect(init.text).toContain("url: '/api/v1/openapi.json'");
    expect(init.text).toContain('validatorUrl: null');
    // nothing else of the viewer package is served
    expect((await request(app).get('/api/docs/assets/package.json')).status).toBe(404);
    expect((await request(app).get('/api/docs/assets/..%2Fpackage.json')).status).toBe(404);
  });
});
