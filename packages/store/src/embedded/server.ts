import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { SharedSession } from './shared-session.js';
import { FrontendFramer } from './wire.js';

/** Options of {@link startEmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /** Folder of the store (`.data/store`): PGlite's files in `pgdata/`, the lock file next to them. */
  readonly dataDir: string;
  /** Loopback port; 0 = any free one (default). */
  readonly port?: number;
  readonly host?: string;
  /** Concurrent client connections accepted (every process's pool counts). */
  readonly maxConnections?: number;
  /** A connection idle inside a transaction while others wait is closed after this long. */
  readonly idleInTransactionMs?: number;
  /** Warnings (idle connection closed, client errors). */
  readonly warn?: (message: string) => void;
}

/** A running embedded store. */
export interface EmbeddedStore {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: what DATABASE_URL gets. */
  readonly url: string;
  readonly port: number;
  /** Closes client connections (rolling back their transactions), flushes and closes PGlite. */
  close(): Promise<void>;
}

/** Contents of `<dataDir>/store.lock`: who serves this folder. */
export interface EmbeddedStoreLock {
  readonly pid: number;
  readonly url: string;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The live process serving `dataDir`, if any (a lock left by a dead process does not count). */
export function readEmbeddedStoreLock(dataDir: string): EmbeddedStoreLock | undefined {
  const file = join(resolve(dataDir), 'store.lock');
  if (!existsSync(file)) return undefined;
  try {
    const lock = JSON.parse(readFileSync(file, 'utf8')) as EmbeddedStoreLock;
    return typeof lock.pid === 'number' && typeof lock.url === 'string' && alive(lock.pid) ? lock : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts PGlite (PostgreSQL in WebAssembly, with pgvector) on `dataDir` and serves it over the
 * PostgreSQL wire protocol on loopback, so every process reaches it with a plain DATABASE_URL.
 * One process per folder: a second start on a folder served by a live process is refused.
 */
export async function startEmbeddedStore(opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const holder = readEmbeddedStoreLock(dir);
  if (holder) throw new Error(`${dir} is served by process ${holder.pid} at ${holder.url}`);
  const lockFile = join(dir, 'store.lock');

  const db = await PGlite.create({ dataDir: join(dir, 'pgdata'), extensions: { vector } });
  const warn = opts.warn ?? (() => {});
  const sockets = new Map<number, net.Socket>();
  let nextConn = 1;
  const session = new SharedSession(
    {
      run: (bytes, onData) => db.runExclusive(() => db.execProtocolRawStream(bytes, { onRawData: onData })),
      inTransaction: () => db.isInTransaction(),
    },
    {
      ...(opts.idleInTransactionMs !== undefined ? { idleInTransactionMs: opts.idleInTransactionMs } : {}),
      onIdleOwner: (conn) => {
        warn(`connection ${conn} was idle in a transaction while others waited: closed, its transaction rolled back`);
        sockets.get(conn)?.destroy();
      },
    },
  );

  const server = net.createServer((socket) => {
    const conn = nextConn++;
    sockets.set(conn, socket);
    socket.setNoDelay(true);
    const framer = new FrontendFramer();
    const send = (data: Uint8Array) => {
      // copied: PGlite hands out a view of its WebAssembly memory, reused after this call
      if (data.length > 0 && socket.writable) socket.write(Buffer.from(data));
    };
    const fail = (err: unknown) => {
      warn(`connection ${conn}: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      let messages;
      try {
        messages = framer.push(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      for (const m of messages) {
        if (m.kind === 'ssl-request') socket.write('N');
        else if (m.kind === 'cancel') socket.destroy(); // cancelling a running query is not supported
        else if (m.kind === 'startup') session.submit(conn, 'startup', m.bytes, send, fail);
        else if (m.type === 'X') socket.end();
        else session.submit(conn, m.type, m.bytes, send, fail);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(conn);
      session.release(conn);
    });
  });
  server.maxConnections = opts.maxConnections ?? 200;

  const port = await new Promise<number>((done, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const addr = server.address();
      done(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  const host = opts.host ?? '127.0.0.1';
  const url = `postgres://postgres@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
  writeFileSync(lockFile, JSON.stringify({ pid: process.pid, url } satisfies EmbeddedStoreLock));

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((done) => server.close(() => done()));
        for (const s of sockets.values()) s.destroy();
        await closed;
        // release() of the destroyed sockets queued the rollbacks; they run before close
        await db.runExclusive(async () => {});
        await db.close();
        rmSync(lockFile, { force: true });
      })()),
  };
}
