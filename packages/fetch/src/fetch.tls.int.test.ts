import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchFailedError } from './fetch.errors';
import { GuardedFetcher } from './fetch.guard';
import type { Resolver } from './fetch.resolve';

/** A pinned HTTPS connection still speaks TLS to the name: SNI carries it and the certificate is verified against it. */

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

(hasOpenssl() ? describe : describe.skip)('GuardedFetcher over HTTPS', () => {
  let server: Server;
  let port: number;
  let dir: string;
  const names: string[] = [];
  let requests = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-fetch-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=files.test', '-addext', 'subjectAltName=DNS:files.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    server = createServer(
      {
        key: readFileSync(join(dir, 'key.pem')),
        cert: readFileSync(join(dir, 'cert.pem')),
        SNICallback: (name, cb) => {
          names.push(name);
          cb(null);
        },
      },
      (_req, res) => {
        requests += 1;
        res.end('tls hello');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the name as SNI to the pinned address and refuses a certificate it cannot verify', async () => {
    const resolver: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const origin = `https://files.test:${port}`;
    const f = new GuardedFetcher({ allowedOrigins: [origin], resolver, timeoutMs: 3000, maxBytes: 1000 });
    const err = await f.fetch(`${origin}/doc.pdf`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchFailedError);
    expect(String((err as FetchFailedError).message)).toMatch(/SELF_SIGNED|self.signed|certificate/i);
    expect(names).toContain('files.test');
    expect(requests).toBe(0);
  });
});
