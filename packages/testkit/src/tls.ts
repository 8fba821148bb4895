import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';

/** A self-signed PEM certificate and key for `CN=<commonName>` (pure JS, no openssl needed). */
export async function selfSignedCertificate(commonName: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: commonName }], { keySize: 2048, algorithm: 'sha256' });
  return { cert: pems.cert, key: pems.private };
}

/** GET over HTTPS accepting any certificate; resolves with the status and the served certificate's CN. */
export function httpsGet(url: string): Promise<{ status: number; cn: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, agent: false }, (res) => {
      const cn = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cn, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
