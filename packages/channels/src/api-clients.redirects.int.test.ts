import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { silentLogger } from '@switchboard/core';
import { createRedis, gatewayKeys, type RedisClient } from '@switchboard/queue';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { GraphClient, GraphMediaUploader } from '@switchboard/channel-whatsapp/outbound';
import { WechatApiClient } from '@switchboard/channel-wechat-kf/outbound';
import { ChatwootClient } from '@switchboard/channel-chatwoot/outbound';
import { TelegramClient } from '@switchboard/channel-telegram/outbound';

/**
 * Credentials go only to their own provider (issue 12 §1): the provider API clients carry their
 * secrets in headers (`Authorization: Bearer`, Chatwoot's `api_access_token`), in the query (WeCom's
 * `access_token`, `corpsecret`) or in the path (Telegram's `bot<token>`), so none of them may follow a
 * redirect: a provider origin answering 3xx (a compromised or misconfigured proxy in front of it)
 * must never hand a secret to another host. Each client's call fails with a typed error instead.
 */

interface Host {
  url: string;
  seen: IncomingMessage[];
  server: Server;
}

async function host(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<Host> {
  const self: Host = { url: '', seen: [], server: undefined as unknown as Server };
  self.server = createServer((req, res) => {
    self.seen.push(req);
    req.resume();
    handler(req, res);
  });
  await new Promise<void>((r) => self.server.listen(0, '127.0.0.1', r));
  self.url = `http://127.0.0.1:${(self.server.address() as AddressInfo).port}`;
  return self;
}

const SECRETS = ['wa-secret-token', 'wx-corp-secret', 'cw-api-token', '123456:tg-bot-token'];

describe('provider API clients never follow a redirect with their credentials', () => {
  let foreign: Host;
  let provider: Host;
  let redis: RedisClient;
  const prefix = uniquePrefix('redir');
  /** WeCom's gettoken answers normally (so the access_token calls are reached) when set. */
  let issueWecomToken = false;

  beforeAll(async () => {
    foreign = await host((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true,"result":{},"errcode":0,"id":"x","access_token":"t","expires_in":7200,"messages":[{"id":"wamid.x"}]}');
    });
    // every call answers a redirect to the foreign host, keeping path and query (where the secrets ride)
    provider = await host((req, res) => {
      if (issueWecomToken && req.url?.startsWith('/cgi-bin/gettoken')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errcode: 0, errmsg: 'ok', access_token: 'wx-access-token', expires_in: 7200 }));
        return;
      }
      res.writeHead(307, { location: `${foreign.url}${req.url ?? '/'}` });
      res.end();
    });
    redis = createRedis(testRedisUrl(), 'worker');
  });
  afterAll(async () => {
    for (const h of [foreign, provider]) {
      h.server.closeAllConnections();
      await new Promise<void>((r) => h.server.close(() => r()));
    }
    await dropPrefix(redis as Redis, prefix);
    redis.disconnect();
  });

  it('WhatsApp Graph client and media uploader: the Bearer token stays with WHATSAPP_GRAPH_URL', async () => {
    const graph = new GraphClient({ baseUrl: `${provider.url}/v24.0`, accessToken: SECRETS[0]!, timeoutMs: 3000 });
    await expect(graph.sendMessage('106540352242922', '15551234567', { type: 'text', text: { body: 'hi' } })).rejects.toMatchObject({ code: expect.any(String) });
    const uploader = new GraphMediaUploader({ graphUrl: `${provider.url}/v24.0`, accessToken: SECRETS[0]!, timeoutMs: 3000 });
    // a 3xx is no upload: answered as a refusal (the customer gets a link), never followed
    await expect(uploader.upload('106540352242922', { blob: new Blob([Buffer.from('x')]), mimeType: 'image/png', filename: 'a.png' })).resolves.toMatchObject({ reason: expect.stringContaining('307') });
    expect(provider.seen.length).toBeGreaterThanOrEqual(2);
    expect(provider.seen.every((r) => r.headers.authorization === `Bearer ${SECRETS[0]}`)).toBe(true);
  });

  it('WeCom client: gettoken (corpsecret) and the access_token calls stay with WECHAT_API_URL', async () => {
    const wx = (p: string) => new WechatApiClient({ settings: { corpId: `ww${p}`, secret: SECRETS[1]!, apiUrl: provider.url, timeoutMs: 3000 }, redis, keys: gatewayKeys(prefix), log: silentLogger() });
    await expect(wx('redirected').getServiceState('wkKF', 'wmUSER')).rejects.toMatchObject({ code: expect.any(String) });
    expect(provider.seen.some((r) => r.url?.includes(SECRETS[1]!))).toBe(true);
    issueWecomToken = true;
    try {
      const client = wx('issued');
      await expect(client.sendMsg({ openKfId: 'wkKF', userId: 'wmUSER' }, 'msg-1', { msgtype: 'text', text: { content: 'hi' } })).rejects.toMatchObject({ code: expect.any(String) });
      await expect(client.getMedia('media-1')).rejects.toMatchObject({ code: expect.any(String) });
    } finally {
      issueWecomToken = false;
    }
    expect(provider.seen.filter((r) => r.url?.includes('access_token=wx-access-token')).length).toBe(2);
  });

  it('Chatwoot client: api_access_token stays with CHATWOOT_URL', async () => {
    const cw = new ChatwootClient({ baseUrl: provider.url, accountId: 1, token: SECRETS[2]!, role: 'bot', timeoutMs: 3000 });
    await expect(cw.sendMessage(7, { content: 'hi' })).rejects.toMatchObject({ code: expect.any(String) });
    await expect(cw.sendAttachment(7, { file: Buffer.from('x'), filename: 'a.txt', contentType: 'text/plain' })).rejects.toMatchObject({ code: expect.any(String) });
    expect(provider.seen.filter((r) => r.headers.api_access_token === SECRETS[2]).length).toBe(2);
  });

  it('Telegram client: the bot token in the path stays with TELEGRAM_API_URL', async () => {
    const tg = new TelegramClient({ apiUrl: provider.url, token: SECRETS[3]!, timeoutMs: 3000 });
    await expect(tg.sendMessage('42', 'hi')).rejects.toMatchObject({ code: expect.any(String) });
    expect(provider.seen.some((r) => r.url?.includes(SECRETS[3]!))).toBe(true);
  });

  afterEach(() => {
    // the foreign host never saw a request, let alone a secret
    expect(foreign.seen.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });
});
