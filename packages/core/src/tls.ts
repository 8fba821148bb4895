import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config.js';
import { resolveConfigPath } from './config-paths.js';
import type { Logger } from './logger.js';

/** Where an app's certificate chain and private key live (PEM files). */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The PEM contents read from {@link TlsFiles}. */
export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * The TLS files configured by `TLS_CERT_FILE`/`TLS_KEY_FILE` (or `SSL_CERTIFILE_PATH`/`SSL_KEYFILE_PATH`),
 * resolved from `root`; undefined = plain HTTP. Only one of the pair set → {@link ConfigError}.
 */
export function tlsFiles(
  cfg: { TLS_CERT_FILE?: string | undefined; TLS_KEY_FILE?: string | undefined; SSL_CERTIFILE_PATH?: string | undefined; SSL_KEYFILE_PATH?: string | undefined },
  root?: string,
): TlsFiles | undefined {
  const cert = cfg.TLS_CERT_FILE ?? cfg.SSL_CERTIFILE_PATH;
  const key = cfg.TLS_KEY_FILE ?? cfg.SSL_KEYFILE_PATH;
  if (!cert && !key) return undefined;
  if (!cert || !key) {
    throw new ConfigError([`${cert ? 'TLS_KEY_FILE (or SSL_KEYFILE_PATH)' : 'TLS_CERT_FILE (or SSL_CERTIFILE_PATH)'}: required together with ${cert ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE'} to serve HTTPS`]);
  }
  return { certFile: resolveConfigPath(cert, undefined, root), keyFile: resolveConfigPath(key, undefined, root) };
}

/**
 * Reads and checks the certificate and key (a secure context is built from them, so a missing file,
 * a PEM that does not parse or a key that does not match the certificate throws here, with the file named).
 */
export function readTlsCredentials(files: TlsFiles): TlsCredentials {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.certFile);
    key = readFileSync(files.keyFile);
  } catch (err) {
    throw new Error(`cannot read TLS files (${files.certFile}, ${files.keyFile}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`invalid TLS certificate or key (${files.certFile}, ${files.keyFile}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { cert, key };
}

function fingerprint(c: TlsCredentials): string {
  return createHash('sha256').update(c.cert).update('\0').update(c.key).digest('hex');
}

/** Options of {@link watchTlsFiles}. */
export interface TlsReloadOptions {
  readonly log: Logger;
  /** Watch the files' directories (default true); SIGHUP reloads either way. */
  readonly watch?: boolean;
  /** Quiet time after the last file event before reloading (a renewal writes two files). */
  readonly debounceMs?: number;
}

/** A running reloader; `close()` stops watching and forgets the SIGHUP handler. */
export interface TlsReloader {
  /** Re-reads the files now; true when a new certificate was installed. */
  reload(): boolean;
  close(): void;
}

/**
 * Re-reads the certificate when the files change (directory watch, debounced: renewals replace files
 * by rename or symlink swap, which a watch on the file itself would miss) or on SIGHUP, and installs
 * it with `server.setSecureContext()`: new connections get the new certificate, connections and
 * requests in flight keep theirs. A broken or half-written pair keeps the old certificate and logs an error.
 */
export function watchTlsFiles(server: HttpsServer, files: TlsFiles, initial: TlsCredentials, opts: TlsReloadOptions): TlsReloader {
  const { log } = opts;
  let current = fingerprint(initial);
  const reload = (): boolean => {
    let next: TlsCredentials;
    try {
      next = readTlsCredentials(files);
    } catch (err) {
      log.error('tls reload failed, keeping the current certificate', { err: err instanceof Error ? err.message : String(err) });
      return false;
    }
    const fp = fingerprint(next);
    if (fp === current) return false;
    server.setSecureContext({ cert: next.cert, key: next.key });
    current = fp;
    log.info('tls certificate reloaded', { certFile: files.certFile });
    return true;
  };

  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, opts.debounceMs ?? 250);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  if (opts.watch ?? true) {
    for (const dir of new Set([dirname(files.certFile), dirname(files.keyFile)])) {
      try {
        const w = watch(dir, { persistent: false }, schedule);
        w.on('error', (err) => log.warn('tls file watch stopped; SIGHUP still reloads', { dir, err: err.message }));
        watchers.push(w);
      } catch (err) {
        log.warn('cannot watch tls files; SIGHUP still reloads', { dir, err: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  const onHup = () => {
    log.info('SIGHUP: reloading tls certificate');
    reload();
  };
  process.on('SIGHUP', onHup);
  return {
    reload,
    close: () => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
      process.off('SIGHUP', onHup);
    },
  };
}
