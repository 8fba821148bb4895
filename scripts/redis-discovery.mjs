// Finds a Redis for `pnpm start` and `pnpm test`: REDIS_URL when set, else 127.0.0.1:6379 when it
// answers, else a private redis-server from PATH (data under .data/redis, AOF on).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';

/** Resolves true when something answers PING on host:port. */
export function redisAnswers(host, port, timeoutMs = 500) {
  return new Promise((done) => {
    const socket = net.connect({ host, port });
    let buf = '';
    const finish = (ok) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) finish(buf.startsWith('+PONG') || buf.startsWith('-NOAUTH'));
    });
  });
}

/**
 * The clock rate every redis-server the scripts start runs at: a blocked BZPOPMIN times out on
 * Redis's clock tick, so BullMQ's delayed jobs (the debounced turns) start up to 1/hz late — 100 ms
 * at the default 10, 10 ms at 100 (docs/operations.md).
 */
export const REDIS_CLOCK_ARGS = ['--hz', '100'];

/**
 * Returns `{ url, started, pid, exited }`. Starts a private redis-server on `port` when needed;
 * `exited` (only then) resolves with its exit code when it ends (1 when a signal killed it).
 * `privateOnly` skips REDIS_URL and 6379 (always a private redis-server on `port`).
 * @param {{ dataDir: string, port?: number, aof?: boolean, log?: (s: string) => void, privateOnly?: boolean }} opts
 */
export async function discoverRedis(opts) {
  const log = opts.log ?? (() => {});
  if (!opts.privateOnly) {
    if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, started: false };
    if (await redisAnswers('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', started: false };
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) {
    throw new Error(
      'No Redis answers on 127.0.0.1:6379 and redis-server is not on PATH.\n' +
        '  Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)\n' +
        '  or run one with Docker: docker compose up -d redis\n' +
        '  or point REDIS_URL at an existing Redis.',
    );
  }
  const port = opts.port ?? 6390;
  const url = `redis://127.0.0.1:${port}`;
  if (await redisAnswers('127.0.0.1', port)) return { url, started: false };
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--maxmemory-policy', 'noeviction', '--save', '', ...REDIS_CLOCK_ARGS];
  args.push('--appendonly', opts.aof === false ? 'no' : 'yes');
  const child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
  child.unref();
  const exited = new Promise((done) => child.on('exit', (code) => done(code ?? 1)));
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers('127.0.0.1', port)) {
      log(`started a private redis-server on ${url} (data in ${dir})`);
      return { url, started: true, pid: child.pid, exited };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis-server did not come up on port ${port}`);
}
