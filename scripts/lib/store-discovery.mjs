// The data store for `pnpm start`: DATABASE_URL when set, else the embedded store: PGlite (PostgreSQL
// in WebAssembly, with pgvector) served over the PostgreSQL wire protocol on a free loopback port by
// packages/store/dist/embedded/main.js, its data in `dataDir`, no install step. A live embedded store
// already serving that folder (another `pnpm start`) is reused, like a Redis that already answers.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { eachLine } from './lifecycle.mjs';

const READY_TIMEOUT_MS = 120_000;

/** The `{pid, url}` of a live process serving `dataDir` (packages/store/src/embedded/server.ts). */
function liveLock(dataDir) {
  try {
    const lock = JSON.parse(readFileSync(join(dataDir, 'store.lock'), 'utf8'));
    process.kill(lock.pid, 0);
    return typeof lock.url === 'string' ? lock : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves true when something accepts a TCP connection at the URL's host:port. */
function answers(url, timeoutMs = 1000) {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) || 5432 });
    socket.setTimeout(timeoutMs, () => (socket.destroy(), done(false)));
    socket.on('error', () => done(false));
    socket.on('connect', () => (socket.destroy(), done(true)));
  });
}

/**
 * Resolves `{ url, started, pid?, ms?, exited? }` (`exited`, when it started one: resolves with the
 * process's exit code when it ends, 1 when a signal killed it). The embedded process is spawned in its own process group
 * and handed to `onSpawn(pid)` at once (the supervisor adopts it, so it is stopped after the apps,
 * and by the reaper if start.mjs dies). Later output lines go to `log`.
 * @param {{ root: string, dataDir: string, log: (s: string) => void, onSpawn: (pid: number) => void }} opts
 */
export async function discoverStore({ root, dataDir, log, onSpawn }) {
  if (process.env.DATABASE_URL?.trim()) return { url: process.env.DATABASE_URL.trim(), started: false };
  const reused = liveLock(dataDir);
  if (reused && (await answers(reused.url))) return { url: reused.url, started: false, pid: reused.pid };
  // a lock naming a live process that does not serve: its pid was reused after a crash
  if (reused) rmSync(join(dataDir, 'store.lock'), { force: true });
  return spawnStore({ root, dataDir, log, onSpawn });
}

function spawnStore({ root, dataDir, log, onSpawn }) {
  const main = join(root, 'packages', 'store', 'dist', 'embedded', 'main.js');
  if (!existsSync(main)) return Promise.reject(new Error(`the embedded store is not built (${main}); run without --no-build, or set DATABASE_URL`));

  const child = spawn(process.execPath, [main, '--data-dir', dataDir], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid) onSpawn(child.pid);
  const exited = new Promise((done) => child.on('exit', (code) => done(code ?? 1)));
  const tail = [];
  return new Promise((done, fail) => {
    let ready = false;
    const timer = setTimeout(() => fail(new Error(`the embedded store did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    eachLine(child.stdout, (line) => {
      if (ready) return log(line);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return tail.push(line);
      }
      ready = true;
      clearTimeout(timer);
      if (msg.ready) done({ url: msg.url, started: true, pid: child.pid, ms: msg.ms, exited });
      else fail(new Error(`the embedded store did not start: ${msg.error}`));
    });
    eachLine(child.stderr, (line) => (ready ? log(line) : tail.push(line)));
    child.on('error', (err) => fail(err));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) fail(new Error(`the embedded store exited during start (${signal ?? `exit ${code}`})${tail.length ? `:\n    ${tail.slice(-10).join('\n    ')}` : ''}`));
    });
  });
}
