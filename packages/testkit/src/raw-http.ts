import { createServer, request, type RequestListener } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createGzip } from 'node:zlib';

/** An app served on a loopback port for a test; `close()` stops it. */
export interface InProcessServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves an Express app (or any request listener) on 127.0.0.1 with an ephemeral port. */
export async function serveInProcess(app: RequestListener): Promise<InProcessServer> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * POSTs `body` byte for byte (no client-side encoding of any kind, unlike superagent with JSON
 * content types) and resolves with the status and text of the answer. `https://` URLs accept any
 * certificate (tests use self-signed ones).
 */
export function postBytes(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const opts = { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } };
    const onResponse = (res: import('node:http').IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = url.startsWith('https:') ? httpsRequest(url, { ...opts, rejectUnauthorized: false }, onResponse) : request(url, opts, onResponse);
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A gzip "bomb": `inflatedBytes` of zeros, compressed (about 1000:1), built by streaming so the test
 * itself never holds the inflated bytes. `prefix` is written first (e.g. the start of a JSON document).
 */
export function gzipBomb(inflatedBytes: number, prefix = '{"object":"'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gz = createGzip({ level: 9 });
    const out: Buffer[] = [];
    gz.on('data', (c: Buffer) => out.push(c));
    gz.on('end', () => resolve(Buffer.concat(out)));
    gz.on('error', reject);
    const chunk = Buffer.alloc(1024 * 1024, 0x30);
    let left = inflatedBytes - prefix.length;
    gz.write(prefix);
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!gz.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          gz.once('drain', pump);
          return;
        }
      }
      gz.end();
    };
    pump();
  });
}
