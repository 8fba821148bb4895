// The data store for `pnpm start`: DATABASE_URL when set, else the embedded store: PGlite (PostgreSQL
// in WebAssembly, with pgvector) served over the PostgreSQL wire protocol on a free loopback port by
// packages/store/dist/embedded/main.js, its data in `dataDir`, no install step. A live embedded store
// already serving that folder (another `pnpm start`) is reused, like a Redis that already answers.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

/**
 * Resolves `{ url, started, pid?, ms? }`. The embedded process is spawned in its own process group
 * and handed to `onSpawn(pid)` at once (the supervisor adopts it, so it is stopped after the apps,
 * and by the reaper if start.mjs dies). Later output lines go to `log`.
 * @param {{ root: string, dataDir: string, log: (s: string) => void, onSpawn: (pid: number) => void }} opts
 */
export function discoverStore({ root, dataDir, log, onSpawn }) {
  if (process.env.DATABASE_URL?.trim()) return Promise.resolve({ url: process.env.DATABASE_URL.trim(), started: false });
  const reused = liveLock(dataDir);
  if (reused) return Promise.resolve({ url: reused.url, started: false, pid: reused.pid });
  const main = join(root, 'packages', 'store', 'dist', 'embedded', 'main.js');
  if (!existsSync(main)) return Promise.reject(new Error(`the embedded store is not built (${main}); run without --no-build, or set DATABASE_URL`));

  const child = spawn(process.execPath, [main, '--data-dir', dataDir], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid) onSpawn(child.pid);
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
      if (msg.ready) done({ url: msg.url, started: true, pid: child.pid, ms: msg.ms });
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
