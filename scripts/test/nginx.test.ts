/**
 * deploy/nginx/switchboard.conf, run by a real nginx in a temporary directory: its ports and
 * certificate are swapped for free loopback ports, fake upstreams and a certificate made here with
 * openssl. Each webhook path must reach its own ingress with the body and request line byte for
 * byte and the forwarding headers set; other paths must not be published. Skipped (with a message)
 * when nginx or openssl is not installed; .ci/run installs both.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = resolve(__dirname, '..', '..');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const nginxBin = ['nginx', '/usr/sbin/nginx'].find((c) => (c.includes('/') ? spawnSync(c, ['-v']).status === 0 : has(c)));
const ready = nginxBin !== undefined && has('openssl');
if (!ready) process.stderr.write('nginx.test.ts: nginx or openssl is not installed; the nginx config test is skipped (apt-get install nginx openssl)\n');
const maybe = ready ? describe : describe.skip;

const HOST = 'switchboard.example.com';

interface Seen {
  upstream: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => done(port));
    });
    srv.on('error', fail);
  });
}

function fakeUpstream(name: string, seen: Seen[]): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ upstream: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${name}`);
    });
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, port: (server.address() as net.AddressInfo).port })));
}

/** Replaces `from` (which must occur) in the shipped config; a changed config fails loudly here. */
function swap(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`deploy/nginx/switchboard.conf no longer contains ${String(from)}`);
  return typeof from === 'string' ? text.split(from).join(to) : text.replace(new RegExp(from.source, 'g'), to);
}

function request(
  port: number,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: Buffer; tls?: boolean },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((done, fail) => {
    const mod = opts.tls === false ? http : https;
    const req = mod.request(
      { host: '127.0.0.1', port, method: opts.method, path: opts.path, headers: { host: HOST, ...opts.headers }, servername: HOST, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', fail);
    req.end(opts.body);
  });
}

maybe('deploy/nginx/switchboard.conf in a real nginx', () => {
  const seen: Seen[] = [];
  const upstreams: http.Server[] = [];
  let dir = '';
  let nginx: ChildProcess | undefined;
  let httpsPort = 0;
  let httpPort = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-nginx-'));
    chmodSync(dir, 0o755);
    const gen = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${HOST}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { encoding: 'utf8' },
    );
    if (gen.status !== 0) throw new Error(`openssl failed: ${gen.stderr}`);
    const [wa, wc, cw] = await Promise.all([fakeUpstream('whatsapp', seen), fakeUpstream('wechat', seen), fakeUpstream('chatwoot', seen)]);
    upstreams.push(wa.server, wc.server, cw.server);
    [httpsPort, httpPort] = await Promise.all([freePort(), freePort()]);

    let conf = readFileSync(join(root, 'deploy', 'nginx', 'switchboard.conf'), 'utf8');
    conf = swap(conf, 'server 127.0.0.1:3001;', `server 127.0.0.1:${wa.port};`);
    conf = swap(conf, 'server 127.0.0.1:3002;', `server 127.0.0.1:${wc.port};`);
    conf = swap(conf, 'server 127.0.0.1:3003;', `server 127.0.0.1:${cw.port};`);
    conf = swap(conf, /listen \[::\]:(80|443)( ssl)?;\n/, '');
    conf = swap(conf, 'listen 443 ssl;', `listen 127.0.0.1:${httpsPort} ssl;`);
    conf = swap(conf, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
    conf = swap(conf, `/etc/letsencrypt/live/${HOST}/fullchain.pem`, join(dir, 'cert.pem'));
    conf = swap(conf, `/etc/letsencrypt/live/${HOST}/privkey.pem`, join(dir, 'key.pem'));
    writeFileSync(join(dir, 'switchboard.conf'), conf);
    const temp = (n: string) => `${n}_temp_path ${join(dir, n)};`;
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'master_process off;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} warn;`,
        'events { worker_connections 64; }',
        'http {',
        '  access_log off;',
        `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
        `  include ${join(dir, 'switchboard.conf')};`,
        '}',
      ].join('\n'),
    );
    const check = spawnSync(nginxBin!, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx -t refused the config:\n${check.stderr}`);
    nginx = spawn(nginxBin!, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const end = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((done) => {
        const s = net.connect(httpsPort, '127.0.0.1', () => (s.destroy(), done(true)));
        s.on('error', () => done(false));
      });
      if (up) break;
      if (Date.now() > end || nginx.exitCode !== null) throw new Error(`nginx did not start: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const gone = new Promise((r) => nginx!.on('exit', r));
      nginx.kill('SIGQUIT');
      await gone;
    }
    await Promise.all(upstreams.map((s) => new Promise((r) => s.close(r))));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('passes a WhatsApp delivery to whatsapp-ingress byte for byte, with the forwarding headers', async () => {
    // Meta sends unicode-escaped JSON; any re-encoding would break X-Hub-Signature-256
    const body = Buffer.from('{"object":"whatsapp_business_account","entry":[{"text":"gr\\u00fc\\u00df dich \\ud83d\\ude00"}]}  \n');
    const res = await request(httpsPort, {
      method: 'POST',
      path: '/webhooks/whatsapp',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=abc123', 'x-forwarded-for': '203.0.113.9' },
      body,
    });
    expect(res).toMatchObject({ status: 200, body: 'ok whatsapp' });
    expect(seen).toHaveLength(1);
    const got = seen[0]!;
    expect(got.upstream).toBe('whatsapp');
    expect(got.url).toBe('/webhooks/whatsapp');
    expect(got.body.equals(body)).toBe(true);
    expect(got.headers['x-hub-signature-256']).toBe('sha256=abc123');
    expect(got.headers.host).toBe(HOST);
    expect(got.headers['x-forwarded-proto']).toBe('https');
    expect(got.headers['x-forwarded-host']).toBe(HOST);
    expect(got.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(got.headers['x-real-ip']).toBe('127.0.0.1');
  });

  it('keeps a compressed body compressed (the ingress verifies the bytes received)', async () => {
    const body = gzipSync(Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [] })));
    await request(httpsPort, { method: 'POST', path: '/webhooks/whatsapp', headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' }, body });
    expect(seen[0]!.headers['content-encoding']).toBe('gzip');
    expect(seen[0]!.body.equals(body)).toBe(true);
  });

  it("passes WeChat's URL check with the query string untouched", async () => {
    const path = '/webhooks/wechat-kf?msg_signature=5c1b&timestamp=1700000000&nonce=42&echostr=ab+cd%2Fef%3D%3D/gh+';
    const res = await request(httpsPort, { method: 'GET', path });
    expect(res).toMatchObject({ status: 200, body: 'ok wechat' });
    expect(seen[0]).toMatchObject({ upstream: 'wechat', method: 'GET', url: path });
  });

  it('routes WeChat callbacks, Chatwoot webhooks and per-account routes to their ingress', async () => {
    const xml = Buffer.from('<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[a+b/c==]]></Encrypt></xml>');
    await request(httpsPort, { method: 'POST', path: '/webhooks/wechat-kf?msg_signature=1&timestamp=2&nonce=3', headers: { 'content-type': 'text/xml' }, body: xml });
    const chatwoot = Buffer.from('{"event":"message_created","content":"hi"}');
    await request(httpsPort, {
      method: 'POST',
      path: '/webhooks/chatwoot',
      headers: { 'content-type': 'application/json', 'x-chatwoot-signature': 'sha256=ff', 'x-chatwoot-timestamp': '1700000000', 'x-chatwoot-delivery': 'd-1' },
      body: chatwoot,
    });
    await request(httpsPort, { method: 'POST', path: '/webhooks/whatsapp/shop-de', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') });
    expect(seen.map((s) => [s.upstream, s.url])).toEqual([
      ['wechat', '/webhooks/wechat-kf?msg_signature=1&timestamp=2&nonce=3'],
      ['chatwoot', '/webhooks/chatwoot'],
      ['whatsapp', '/webhooks/whatsapp/shop-de'],
    ]);
    expect(seen[0]!.body.equals(xml)).toBe(true);
    expect(seen[1]!.body.equals(chatwoot)).toBe(true);
    expect(seen[1]!.headers).toMatchObject({ 'x-chatwoot-signature': 'sha256=ff', 'x-chatwoot-timestamp': '1700000000', 'x-chatwoot-delivery': 'd-1' });
  });

  it('lets a 3 MB delivery through to the ingress, which owns the size limit', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const res = await request(httpsPort, { method: 'POST', path: '/webhooks/whatsapp', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    expect(seen[0]!.body.equals(body)).toBe(true);
  });

  it('publishes nothing else: admin, metrics and look-alike paths are 404', async () => {
    for (const path of ['/admin', '/admin/queues', '/metrics', '/sandbox', '/webhooks/whatsappx', '/webhooks/whatsapp/a/b', '/']) {
      const res = await request(httpsPort, { method: 'GET', path });
      expect([path, res.status]).toEqual([path, 404]);
    }
    expect(seen).toHaveLength(0);
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const res = await request(httpPort, { method: 'GET', path: '/webhooks/whatsapp?hub.mode=subscribe', tls: false });
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(`https://${HOST}/webhooks/whatsapp?hub.mode=subscribe`);
  });
});
