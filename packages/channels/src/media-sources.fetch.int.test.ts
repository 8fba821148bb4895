import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuardedFetcher } from '@switchboard/fetch';
import { MediaFailureReason, MediaTempStore, UrlMediaSource } from '@switchboard/media';
import { WechatMediaSource } from '@switchboard/channel-wechat-kf/worker';
import { WhatsAppMediaSource } from '@switchboard/channel-whatsapp/worker';

/** Credential scopes and refusals of the media sources, against plain servers on loopback. */

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

interface Host {
  url: string;
  seen: IncomingMessage[];
  server: Server;
}

async function host(handler: (req: IncomingMessage, res: import('node:http').ServerResponse, self: Host) => void): Promise<Host> {
  const self = { url: '', seen: [] as IncomingMessage[], server: undefined as unknown as Server };
  self.server = createServer((req, res) => {
    self.seen.push(req);
    handler(req, res, self);
  });
  await new Promise<void>((r) => self.server.listen(0, '127.0.0.1', r));
  self.url = `http://127.0.0.1:${(self.server.address() as AddressInfo).port}`;
  return self;
}

describe('media sources through the guarded fetcher', () => {
  let foreign: Host;
  let provider: Host;
  let dir: string;
  let store: MediaTempStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-src-'));
    store = new MediaTempStore({ dir, maxBytes: 10 << 20 });
    foreign = await host((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(PNG);
    });
    // a provider API that hands out files on a foreign host (Graph lookups; WeCom redirecting)
    provider = await host((req, res) => {
      if (req.url?.startsWith('/cgi-bin/media/get')) {
        res.writeHead(302, { location: `${foreign.url}/wx${req.url.slice('/cgi-bin/media/get'.length)}` });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: `${foreign.url}/wa/file.png`, mime_type: 'image/png' }));
    });
  });
  afterAll(async () => {
    for (const h of [foreign, provider]) {
      h.server.closeAllConnections();
      await new Promise<void>((r) => h.server.close(() => r()));
    }
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    foreign.seen.length = 0;
    provider.seen.length = 0;
  });

  const fetcher = (allowed: string[]) => new GuardedFetcher({ allowedOrigins: allowed, timeoutMs: 3000, maxBytes: 1 << 20 });

  it('WhatsApp: the token goes to Graph, not to the host a lookup names', async () => {
    const src = new WhatsAppMediaSource({ graphUrl: `${provider.url}/v24.0`, accessToken: 'wa-secret', mediaOrigins: [], fetcher: fetcher([foreign.url]) });
    const ws = await store.workspace();
    try {
      const file = await src.fetch({ mediaId: '123' }, ws, { maxBytes: 1 << 20, what: 'the image' });
      expect(file.mimeType).toBe('image/png');
    } finally {
      await ws.dispose();
    }
    expect(provider.seen[0]?.headers.authorization).toBe('Bearer wa-secret');
    expect(foreign.seen).toHaveLength(1);
    expect(foreign.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('WhatsApp: a listed media origin does get the token', async () => {
    const src = new WhatsAppMediaSource({ graphUrl: `${provider.url}/v24.0`, accessToken: 'wa-secret', mediaOrigins: [foreign.url], fetcher: fetcher([foreign.url]) });
    const ws = await store.workspace();
    await src.fetch({ mediaId: '124' }, ws, { maxBytes: 1 << 20, what: 'the image' }).finally(() => ws.dispose());
    expect(foreign.seen[0]?.headers.authorization).toBe('Bearer wa-secret');
  });

  it('WhatsApp: without the foreign host listed, the loopback download is refused as not available', async () => {
    const src = new WhatsAppMediaSource({ graphUrl: `${provider.url}/v24.0`, accessToken: 'wa-secret', mediaOrigins: [], fetcher: fetcher([]) });
    const ws = await store.workspace();
    const err = await src.fetch({ mediaId: '125' }, ws, { maxBytes: 1 << 20, what: 'the image' }).finally(() => ws.dispose()).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: MediaFailureReason.notAvailable, retryable: false });
    // Graph itself is the provider's configured origin: reached although it is on loopback
    expect(provider.seen).toHaveLength(1);
    expect(foreign.seen).toHaveLength(0);
  });

  it('WeChat: the access_token rides only to WECHAT_API_URL, not along a redirect', async () => {
    const src = new WechatMediaSource({ apiUrl: provider.url, tokens: { get: async () => 'wx-secret', invalidate: async () => undefined }, fetcher: fetcher([foreign.url]) });
    const ws = await store.workspace();
    await src.fetch({ mediaId: 'mid_1', mimeType: 'image/png' }, ws, { maxBytes: 1 << 20, what: 'the image' }).finally(() => ws.dispose());
    expect(provider.seen[0]?.url).toContain('access_token=wx-secret');
    expect(foreign.seen).toHaveLength(1);
    expect(foreign.seen[0]?.url).not.toContain('wx-secret');
  });

  it('plain URLs: http(s) only; a refused scheme is not available, not a crash', async () => {
    const src = new UrlMediaSource({ fetcher: fetcher([]) });
    const ws = await store.workspace();
    try {
      for (const url of ['file:///etc/passwd', `${foreign.url}/x.png`, 'http://[::1]/x', 'http://169.254.169.254/latest/meta-data/']) {
        await expect(src.fetch({ url }, ws, { maxBytes: 1000, what: 'the image' })).rejects.toMatchObject({ reason: MediaFailureReason.notAvailable });
      }
    } finally {
      await ws.dispose();
    }
    expect(foreign.seen).toHaveLength(0);
  });
});
