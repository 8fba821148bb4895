/**
 * Native HTTPS: an app served by `listen(app, port, { tls })` answers over TLS with the configured
 * certificate, picks up a replaced certificate (file watch, or SIGHUP) for new connections while a
 * request in flight completes on its old connection, and keeps the old certificate when the new
 * files are broken. Certificates are generated in the test (selfsigned, pure JS).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import express from 'express';
import { generate } from 'selfsigned';
import { closeServer, listen } from './ops';
import type { Logger } from './logger';
import { tlsFiles, type TlsFiles } from './tls';

async function makeCert(cn: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], { keySize: 2048, algorithm: 'sha256' });
  return { cert: pems.cert, key: pems.private };
}

/** Writes the pair the way renewals do: a temporary file renamed over the old one. */
function install(files: TlsFiles, pair: { cert: string; key: string }): void {
  writeFileSync(`${files.keyFile}.tmp`, pair.key);
  renameSync(`${files.keyFile}.tmp`, files.keyFile);
  writeFileSync(`${files.certFile}.tmp`, pair.cert);
  renameSync(`${files.certFile}.tmp`, files.certFile);
}

function get(port: number, path: string): Promise<{ status: number; text: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      const cn = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), cn }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(check: () => Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

function recordingLogger(): { log: Logger; lines: Array<{ level: string; msg: string; meta?: unknown }> } {
  const lines: Array<{ level: string; msg: string; meta?: unknown }> = [];
  const at = (level: string) => (msg: string, meta?: unknown) => {
    lines.push({ level, msg, meta });
  };
  return { log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger, lines };
}

describe('listen() with TLS', () => {
  let dir: string;
  let a: { cert: string; key: string };
  let b: { cert: string; key: string };
  let c: { cert: string; key: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-tls-'));
    [a, b, c] = await Promise.all([makeCert('a.test'), makeCert('b.test'), makeCert('c.test')]);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function appWithSlowRoute() {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let slowStarted = false;
    const app = express();
    app.get('/hello', (_req, res) => res.send('hi'));
    app.get('/slow', async (_req, res) => {
      slowStarted = true;
      await released;
      res.send('slow done');
    });
    return { app, release, started: () => slowStarted };
  }

  it('serves HTTPS, reloads a replaced certificate without dropping a request in flight, keeps the old one when the new is broken', async () => {
    const files = { certFile: join(dir, 'watch-cert.pem'), keyFile: join(dir, 'watch-key.pem') };
    install(files, a);
    const { log, lines } = recordingLogger();
    const { app, release, started } = appWithSlowRoute();
    const server: Server = await listen(app, 0, { log, tls: files, host: '127.0.0.1' });
    const { port } = server.address() as AddressInfo;
    try {
      const first = await get(port, '/hello');
      expect(first).toEqual({ status: 200, text: 'hi', cn: 'a.test' });

      const slow = get(port, '/slow');
      await until(async () => started());
      install(files, b);
      await until(async () => (await get(port, '/hello')).cn === 'b.test');
      expect(lines.some((l) => l.level === 'info' && l.msg === 'tls certificate reloaded')).toBe(true);

      release();
      // the request in flight finishes on its connection, made with the old certificate
      expect(await slow).toEqual({ status: 200, text: 'slow done', cn: 'a.test' });

      // a broken certificate, then a key that does not match: the server keeps b.test and says why
      writeFileSync(files.certFile, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
      await until(async () => lines.some((l) => l.level === 'error' && l.msg.startsWith('tls reload failed')));
      expect((await get(port, '/hello')).cn).toBe('b.test');
      writeFileSync(files.certFile, c.cert);
      await until(async () => lines.filter((l) => l.level === 'error').length >= 2);
      expect((await get(port, '/hello')).cn).toBe('b.test');
      // the matching key arrives: the new pair is served
      writeFileSync(files.keyFile, c.key);
      await until(async () => (await get(port, '/hello')).cn === 'c.test');
    } finally {
      release();
      await closeServer(server, 2000);
    }
  }, 60_000);

  it('reloads on SIGHUP when file watching is off (real process, real signal)', async () => {
    const files = { certFile: join(dir, 'hup-cert.pem'), keyFile: join(dir, 'hup-key.pem') };
    install(files, a);
    // jest gives tests a copy of `process` whose listeners never see real signals: use a child
    const script = `
      const express = require(${JSON.stringify(require.resolve('express'))});
      const { listen, createLogger } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
      const log = createLogger({ service: 'tls-child', level: 'info' });
      listen(express().get('/hello', (_q, r) => r.send('hi')), 0, { log, tls: { certFile: process.argv[1], keyFile: process.argv[2] }, host: '127.0.0.1', watchTls: false })
        .then((s) => process.stdout.write('PORT ' + s.address().port + '\\n'));
    `;
    const child = spawn(process.execPath, ['-e', script, files.certFile, files.keyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await until(async () => /PORT \d+/.test(out), 15_000);
      const port = Number(/PORT (\d+)/.exec(out)![1]);
      expect((await get(port, '/hello')).cn).toBe('a.test');
      install(files, b);
      await new Promise((r) => setTimeout(r, 500));
      expect((await get(port, '/hello')).cn).toBe('a.test');
      child.kill('SIGHUP');
      await until(async () => (await get(port, '/hello')).cn === 'b.test');
      expect(out).toContain('SIGHUP: reloading tls certificate');
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);

  it('refuses to start with unreadable or mismatched files', async () => {
    const { log } = recordingLogger();
    const app = express();
    await expect(listen(app, 0, { log, tls: { certFile: join(dir, 'missing.pem'), keyFile: join(dir, 'missing-key.pem') }, host: '127.0.0.1' })).rejects.toThrow(/cannot read TLS files/);
    const files = { certFile: join(dir, 'mix-cert.pem'), keyFile: join(dir, 'mix-key.pem') };
    writeFileSync(files.certFile, a.cert);
    writeFileSync(files.keyFile, b.key);
    await expect(listen(app, 0, { log, tls: files, host: '127.0.0.1' })).rejects.toThrow(/invalid TLS certificate or key/);
  });
});

describe('tlsFiles', () => {
  it('is off without variables, resolves relative paths from the root, reads the SSL_* names too', () => {
    expect(tlsFiles({})).toBeUndefined();
    expect(tlsFiles({ TLS_CERT_FILE: 'certs/a.pem', TLS_KEY_FILE: '/etc/k.pem' }, '/repo')).toEqual({ certFile: '/repo/certs/a.pem', keyFile: '/etc/k.pem' });
    expect(tlsFiles({ SSL_CERTIFILE_PATH: 'c.pem', SSL_KEYFILE_PATH: 'k.pem' }, '/srv')).toEqual({ certFile: '/srv/c.pem', keyFile: '/srv/k.pem' });
    expect(tlsFiles({ TLS_CERT_FILE: '/a.pem', SSL_CERTIFILE_PATH: '/b.pem', SSL_KEYFILE_PATH: '/k.pem' })).toEqual({ certFile: '/a.pem', keyFile: '/k.pem' });
  });

  it('names the missing half', () => {
    expect(() => tlsFiles({ TLS_CERT_FILE: '/a.pem' })).toThrow(/TLS_KEY_FILE/);
    expect(() => tlsFiles({ SSL_KEYFILE_PATH: '/k.pem' })).toThrow(/TLS_CERT_FILE/);
  });
});
