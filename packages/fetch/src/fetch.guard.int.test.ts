import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Registry } from 'prom-client';
import { FetchFailedError, FetchRefusedError, FetchTooLargeError } from './fetch.errors';
import { GuardedFetcher, type GuardedFetcherOptions } from './fetch.guard';
import { fetchRefusedCounter, FETCH_REFUSED_COUNTER_NAME } from './fetch.metrics';
import type { Resolver } from './fetch.resolve';

interface Host {
  origin: string;
  port: number;
  seen: IncomingMessage[];
  close(): Promise<void>;
}

async function host(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Host> {
  const seen: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function text(body: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function refusal(p: Promise<unknown>): Promise<FetchRefusedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchRefusedError);
  return err as FetchRefusedError;
}

describe('GuardedFetcher', () => {
  let ok: Host;
  let other: Host;
  let registry: Registry;
  beforeAll(async () => {
    ok = await host((req, res) => {
      if (req.url?.startsWith('/to/')) {
        res.writeHead(302, { location: decodeURIComponent(req.url.slice(4)) });
        res.end();
      } else if (req.url === '/loop') {
        res.writeHead(302, { location: '/loop' });
        res.end();
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(600));
        res.end(Buffer.alloc(600));
      } else if (req.url === '/big-declared') {
        res.writeHead(200, { 'content-length': '5000' });
        res.end(Buffer.alloc(5000));
      } else if (req.url === '/hang') {
        // never answers
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-host': req.headers.host ?? '' });
        res.end('hello');
      }
    });
    other = await host((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('internal secret');
    });
  });
  afterAll(async () => {
    await ok.close();
    await other.close();
  });
  beforeEach(() => {
    registry = new Registry();
    ok.seen.length = 0;
    other.seen.length = 0;
  });

  const fetcher = (o: Partial<GuardedFetcherOptions> = {}) =>
    new GuardedFetcher({ allowedOrigins: [ok.origin], timeoutMs: 2000, maxBytes: 1000, refused: fetchRefusedCounter(registry), ...o });
  const refusedCount = async (reason: string) => {
    const m = await registry.getSingleMetric(FETCH_REFUSED_COUNTER_NAME)!.get();
    return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
  };

  it('fetches from an allowed origin', async () => {
    const res = await fetcher().fetch(`${ok.origin}/file`);
    expect(res.status).toBe(200);
    expect(await text(res.body)).toBe('hello');
    expect(res.address).toBe('127.0.0.1');
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['0177.0.0.01', 'loopback'],
    ['[::1]', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['[::]', 'unspecified'],
  ])('refuses http://%s:<port of a loopback server> (%s) without connecting', async (spelling, reason) => {
    const err = await refusal(fetcher().fetch(`http://${spelling}:${other.port}/metrics`));
    expect(err.reason).toBe(reason);
    expect(err.retryable).toBe(false);
    expect(other.seen).toHaveLength(0);
    expect(await refusedCount(reason)).toBe(1);
  });

  it('refuses cloud metadata, CGNAT and private literals', async () => {
    const f = fetcher({ timeoutMs: 300 });
    expect((await refusal(f.fetch('http://169.254.169.254/latest/meta-data/iam/'))).reason).toBe('link_local');
    expect((await refusal(f.fetch('http://[fe80::1]/'))).reason).toBe('link_local');
    expect((await refusal(f.fetch('http://100.100.100.200/latest/meta-data/'))).reason).toBe('cgnat');
    expect((await refusal(f.fetch('http://10.0.0.1/'))).reason).toBe('private');
    expect((await refusal(f.fetch('http://[fd00::1]/'))).reason).toBe('private');
    expect((await refusal(f.fetch('http://224.0.0.1/'))).reason).toBe('multicast');
  });

  it('refuses other schemes and userinfo', async () => {
    expect((await refusal(fetcher().fetch('file:///etc/passwd'))).reason).toBe('bad_url');
    expect((await refusal(fetcher().fetch('gopher://example.com/'))).reason).toBe('bad_url');
    expect((await refusal(fetcher().fetch('not a url'))).reason).toBe('bad_url');
    expect((await refusal(fetcher().fetch(`http://user:pw@${ok.origin.slice(7)}/`))).reason).toBe('userinfo');
  });

  it('refuses a name when any of its addresses is not public', async () => {
    const resolver: Resolver = async (name) => (name === 'mixed.test' ? [{ address: '93.184.215.14', family: 4 }, { address: '127.0.0.1', family: 4 }] : [{ address: '10.1.2.3', family: 4 }]);
    expect((await refusal(fetcher({ resolver }).fetch(`http://mixed.test:${other.port}/`))).reason).toBe('loopback');
    expect((await refusal(fetcher({ resolver }).fetch(`http://intranet.test:${other.port}/`))).reason).toBe('private');
    expect((await refusal(fetcher({ resolver: async () => [] }).fetch('http://void.test/'))).reason).toBe('no_address');
    const noAnswer: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nx.test'), { code: 'ENOTFOUND' });
    };
    await expect(fetcher({ resolver: noAnswer }).fetch('http://nx.test/')).rejects.toBeInstanceOf(FetchFailedError);
    expect(other.seen).toHaveLength(0);
  });

  it('pins the socket to the checked address: a second DNS answer never reaches the connection', async () => {
    // an allowed origin skips the address check but is still resolved once and pinned
    const pinnedOrigin = `http://pinned.test:${ok.port}`;
    const calls: string[] = [];
    const resolver: Resolver = async (name) => {
      calls.push(name);
      return calls.length === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.255.255.1', family: 4 }];
    };
    const f = fetcher({ resolver, allowedOrigins: [pinnedOrigin] });
    const res = await f.fetch(`${pinnedOrigin}/file`);
    expect(await text(res.body)).toBe('hello');
    expect(res.address).toBe('127.0.0.1');
    expect(calls).toEqual(['pinned.test']);
    // Host keeps the name (virtual hosting, TLS SNI likewise)
    expect(res.headers['x-host']).toBe(`pinned.test:${ok.port}`);
  });

  it('DNS rebinding: a name checked as public connects to that public address, never to the loopback answer that follows', async () => {
    const calls: string[] = [];
    const resolver: Resolver = async (name) => {
      calls.push(name);
      return calls.length === 1 ? [{ address: '93.184.215.14', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    };
    const targets: string[] = [];
    const onSocket = (msg: unknown) => {
      (msg as { socket: Socket }).socket.once('lookup', (_err: Error | null, address: string) => targets.push(address));
    };
    subscribe('net.client.socket', onSocket);
    try {
      await expect(fetcher({ resolver, timeoutMs: 400 }).fetch(`http://rebind.test:${other.port}/metrics`)).rejects.toBeInstanceOf(FetchFailedError);
    } finally {
      unsubscribe('net.client.socket', onSocket);
    }
    expect(calls).toEqual(['rebind.test']);
    expect(targets).toEqual(['93.184.215.14']);
    expect(other.seen).toHaveLength(0);
  });

  it('re-checks every redirect: an allowed host redirecting to loopback in any spelling is refused', async () => {
    for (const [target, reason] of [
      [`http://127.0.0.1:${other.port}/metrics`, 'loopback'],
      [`http://[::1]:${other.port}/`, 'loopback'],
      [`http://2130706433:${other.port}/`, 'loopback'],
      [`http://127.1:${other.port}/`, 'loopback'],
      ['http://169.254.169.254/latest/meta-data/', 'link_local'],
      ['file:///etc/passwd', 'bad_url'],
    ] as const) {
      const err = await refusal(fetcher().fetch(`${ok.origin}/to/${encodeURIComponent(target)}`));
      expect(err.reason).toBe(reason);
      expect(err.hop).toBe(1);
    }
    expect(other.seen).toHaveLength(0);
  });

  it('a public name redirecting to loopback is refused at the redirect', async () => {
    // the first hop is served by the allowed host under a public-looking name pinned to it
    const resolver: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const cdn = `http://cdn.example.test:${ok.port}`;
    const err = await refusal(fetcher({ resolver, allowedOrigins: [cdn] }).fetch(`${cdn}/to/${encodeURIComponent(`http://localhost.example.test:${other.port}/`)}`));
    expect(err.reason).toBe('loopback');
    expect(other.seen).toHaveLength(0);
  });

  it('follows redirects within the limit and stops after it', async () => {
    const res = await fetcher().fetch(`${ok.origin}/to/${encodeURIComponent('/file')}`);
    expect(res.redirects).toBe(1);
    expect(await text(res.body)).toBe('hello');
    const err = await refusal(fetcher({ maxRedirects: 3 }).fetch(`${ok.origin}/loop`));
    expect(err.reason).toBe('too_many_redirects');
    expect(ok.seen).toHaveLength(2 + 4);
  });

  it('sends credentials only to their own origins, also across redirects', async () => {
    const f = fetcher({ allowedOrigins: [ok.origin, other.origin] });
    const scope = { name: 'test', origins: [ok.origin], headers: { Authorization: 'Bearer secret-token' }, query: { access_token: 'secret-q' } };
    await text((await f.fetch(`${ok.origin}/to/${encodeURIComponent(`${other.origin}/x`)}`, { credentials: scope })).body);
    expect(ok.seen[0]?.headers.authorization).toBe('Bearer secret-token');
    expect(ok.seen[0]?.url).toContain('access_token=secret-q');
    expect(other.seen[0]?.headers.authorization).toBeUndefined();
    expect(other.seen[0]?.url).not.toContain('secret');
    // a URL on a foreign host never gets the token, even when fetched directly
    await text((await f.fetch(`${other.origin}/y`, { credentials: scope })).body);
    expect(other.seen[1]?.headers.authorization).toBeUndefined();
  });

  it('caps the body: by Content-Length before reading, and while streaming', async () => {
    await expect(fetcher().fetch(`${ok.origin}/big-declared`)).rejects.toBeInstanceOf(FetchTooLargeError);
    const res = await fetcher().fetch(`${ok.origin}/big`);
    await expect(text(res.body)).rejects.toBeInstanceOf(FetchTooLargeError);
    // a per-fetch cap never exceeds the fetcher's
    await expect(fetcher().fetch(`${ok.origin}/big-declared`, { maxBytes: 10_000 })).rejects.toBeInstanceOf(FetchTooLargeError);
  });

  it('gives up after the time cap', async () => {
    const started = Date.now();
    await expect(fetcher({ timeoutMs: 300 }).fetch(`${ok.origin}/hang`)).rejects.toBeInstanceOf(FetchFailedError);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
