/**
 * `pnpm start` as a process tree: real pnpm, real scripts/start.mjs, the built apps and a private
 * redis-server on unique ports. Whichever of pnpm / start.mjs gets the signal, everything stops and
 * the exit code is 0; SIGKILL of start.mjs leaves its reaper to stop the rest; an app that dies
 * during start-up stops the start with that app's error.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';

const root = resolve(__dirname, '..', '..');
const built = ['whatsapp-ingress', 'wechat-ingress', 'chatwoot-ingress', 'worker', 'admin'].every((a) => existsSync(join(root, 'apps', a, 'dist', 'main.js')));
if (!built) throw new Error('build first: pnpm exec turbo run build (these tests start apps/*/dist/main.js)');

jest.setTimeout(90_000);
const prefix = `start-test-${process.pid}-${Date.now()}`;

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => done(port));
    });
    srv.on('error', fail);
  });
}

/** Credentials for WhatsApp and WeChat (no sandbox, nothing written to .data/), fake API URLs. */
async function startEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const [wa, wc, cw, tg, admin, metrics] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    LOG_LEVEL: 'warn',
    WHATSAPP_APP_SECRET: 'test-secret',
    WHATSAPP_ACCESS_TOKEN: 'test-token',
    WHATSAPP_VERIFY_TOKEN: 'test-verify',
    WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9/v24.0',
    WECHAT_TOKEN: 'token',
    WECHAT_AESKEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    WECHAT_CORP_ID: 'wwtest',
    WECHAT_SECRET: 'secret',
    WECHAT_API_URL: 'http://127.0.0.1:9',
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 'test-password',
    WHATSAPP_PORT: String(wa),
    WECHAT_PORT: String(wc),
    CHATWOOT_PORT: String(cw),
    TELEGRAM_PORT: String(tg),
    ADMIN_PORT: String(admin),
    WORKER_METRICS_PORT: String(metrics),
    QUEUE_PREFIX: prefix,
    ...extra,
  };
}

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function launch(cmd: string, args: string[], env: Record<string, string>): Run {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
  return { child, out: () => out, err: () => err, exited };
}

async function until(what: string, check: () => boolean, timeoutMs = 75_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every live descendant of `pid` (from /proc), zombies excluded. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parentOf.set(Number(name), Number(fields[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * The processes of `tree` whose command matches, without the children they are forking: between
 * fork and exec a child (an ffmpeg or PDF probe of the worker, say) still shows its parent's
 * command line, and a loaded machine can catch one there.
 */
function matching(tree: readonly number[], match: (cmd: string) => boolean): number[] {
  return tree.filter((p) => {
    if (!match(commandOf(p))) return false;
    const parent = parentPid(p);
    return parent === undefined || !match(commandOf(parent));
  });
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function redisUp(port: number): boolean {
  return spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG';
}

const cwdOf = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
};

const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
};

describe('pnpm start lifecycle', () => {
  const dataDirs: string[] = [];
  afterAll(async () => {
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s to pnpm stops every app and the private redis-server, exit 0 without ELIFECYCLE', async (signal) => {
    const redisPort = await freePort();
    dataDirs.push(join(root, '.data', `redis-${redisPort}`));
    const run = launch('pnpm', ['start', '--no-build', `--private-redis-port=${redisPort}`], await startEnv());
    await until('ready', () => /\[start\] ready: /.test(run.out()) || run.child.exitCode !== null);
    expect(run.out()).toMatch(/ready: whatsapp-ingress, wechat-ingress, chatwoot-ingress, telegram-ingress, worker, admin/);
    const tree = descendants(run.child.pid!);
    const cmds = tree.map(commandOf);
    expect(cmds.filter((c) => c.includes('dist/main.js'))).toHaveLength(6);
    expect(cmds.some((c) => c.startsWith('redis-server'))).toBe(true);
    expect(cmds.some((c) => c.includes('reaper.mjs'))).toBe(true);
    expect(redisUp(redisPort)).toBe(true);

    run.child.kill(signal);
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.err()).not.toMatch(/ELIFECYCLE/);
    expect(run.out()).toMatch(/\[start\] stopped\n/);
    await until('children gone', () => tree.every((p) => !running(p)), 15_000);
    expect(redisUp(redisPort)).toBe(false);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s to start.mjs itself stops the apps and exits 0', async (signal) => {
    const run = launch(process.execPath, ['scripts/start.mjs', '--no-build', '--apps=worker,admin'], await startEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }));
    await until('ready', () => /\[start\] ready: /.test(run.out()) || run.child.exitCode !== null);
    expect(run.out()).toMatch(/ready: worker, admin/);
    const tree = descendants(run.child.pid!);
    expect(tree.map(commandOf).filter((c) => c.includes('dist/main.js'))).toHaveLength(2);
    run.child.kill(signal);
    expect((await run.exited).code).toBe(0);
    await until('children gone', () => tree.every((p) => !running(p)), 15_000);
  });

  // with Redis or the store gone the worker needs its whole shutdown deadline (about 25 s: its
  // consumers cannot close cleanly), so those cases run the admin app alone
  const isApp = (cmd: string) => cmd.includes('dist/main.js') && !cmd.includes('embedded');
  it.each([
    ['SIGINT', 'an app', 'worker', 'worker,admin', isApp],
    ['SIGTERM', 'an app', 'admin', 'worker,admin', isApp],
    ['SIGTERM', 'the private redis-server', 'redis-server', 'admin', (cmd: string) => cmd.startsWith('redis-server')],
    ['SIGINT', 'the embedded store', 'store', 'admin', (cmd: string) => cmd.includes('embedded/main.js')],
  ] as const)('%s to %s (%s) stops everything else, exit 0', async (signal, _what, name, apps, pick) => {
    const redisPort = await freePort();
    dataDirs.push(join(root, '.data', `redis-${redisPort}`));
    const run = launch(process.execPath, ['scripts/start.mjs', '--no-build', `--apps=${apps}`, `--private-redis-port=${redisPort}`], await startEnv());
    await until('ready', () => /\[start\] ready: /.test(run.out()) || run.child.exitCode !== null);
    expect(run.out()).toContain(`ready: ${apps.replace(',', ', ')}`);
    const tree = descendants(run.child.pid!);
    expect(matching(tree, isApp)).toHaveLength(apps.split(',').length);
    // an app is told by its working directory (apps/<name>)
    const candidates = tree.filter((p) => pick(commandOf(p)));
    const target = name === 'worker' || name === 'admin' ? candidates.find((p) => cwdOf(p).endsWith(`/apps/${name}`)) : candidates[0];
    expect(target).toBeDefined();
    process.kill(target!, signal);
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.err()).not.toMatch(/\[start\] .*(exited|killed)/);
    expect(run.out()).toContain(`[start] stopping (${name} stopped)`);
    expect(run.out()).toMatch(/\[start\] stopped\n/);
    await until('everything gone', () => tree.every((p) => !running(p)), 15_000);
    expect(redisUp(redisPort)).toBe(false);
  });

  it('SIGHUP kills pnpm (it does not forward it): start.mjs notices its parent is gone and stops everything', async () => {
    const run = launch('pnpm', ['start', '--no-build', '--apps=worker'], await startEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }));
    await until('ready', () => /\[start\] ready: /.test(run.out()) || run.child.exitCode !== null);
    const tree = descendants(run.child.pid!);
    expect(matching(tree, (c) => c.includes('dist/main.js'))).toHaveLength(1);
    run.child.kill('SIGHUP');
    await run.exited;
    await until('children gone', () => tree.every((p) => !running(p)), 15_000);
    expect(run.out()).toMatch(/stopping \(parent exited\)/);
  });

  it('SIGKILL of start.mjs: its reaper stops the apps and the private redis-server', async () => {
    const redisPort = await freePort();
    dataDirs.push(join(root, '.data', `redis-${redisPort}`));
    const run = launch(process.execPath, ['scripts/start.mjs', '--no-build', '--apps=worker', `--private-redis-port=${redisPort}`], await startEnv());
    await until('ready', () => /\[start\] ready: /.test(run.out()) || run.child.exitCode !== null);
    const tree = descendants(run.child.pid!);
    expect(tree.map(commandOf).some((c) => c.includes('dist/main.js'))).toBe(true);
    run.child.kill('SIGKILL');
    await run.exited;
    await until('orphans reaped', () => tree.every((p) => !running(p)), 20_000);
    expect(redisUp(redisPort)).toBe(false);
  });

  it('an app that exits during start-up stops the start with its own error', async () => {
    const run = launch(
      process.execPath,
      ['scripts/start.mjs', '--no-build', '--apps=worker,admin'],
      await startEnv({ REDIS_URL: 'redis://127.0.0.1:6379', AGENT_CONFIG: 'config/no-such-agent.yaml' }),
    );
    const { code } = await run.exited;
    expect(code).toBe(1);
    // the error names the app and the file, resolved from the repository root
    expect(run.err()).toMatch(/\[start\] worker exited during start-up \(exit 1\)/);
    expect(run.err()).toContain(`cannot read the file: ENOENT: no such file or directory, open '${join(root, 'config', 'no-such-agent.yaml')}'`);
    expect(run.out()).not.toMatch(/\[start\] ready/);
    await until('children gone', () => descendants(run.child.pid!).length === 0, 15_000);
  });

  it('refuses unknown apps, flags and ports with a clear message', async () => {
    const env = await startEnv({ REDIS_URL: 'redis://127.0.0.1:6379' });
    const cases: Array<[string[], RegExp]> = [
      [['--apps=nope'], /--apps: nope is not a built app/],
      [['--private-redis-port=abc'], /--private-redis-port: not a port: abc/],
      [['--frobnicate'], /Unknown option '--frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const run = launch(process.execPath, ['scripts/start.mjs', '--no-build', ...args], env);
      expect((await run.exited).code).toBe(1);
      expect(run.err()).toMatch(message);
    }
  });
});

describe('build progress', () => {
  it('counts finished turbo tasks and reports only those that really ran', () => {
    const script = `
      import { createBuildProgress } from './scripts/lib/build-progress.mjs';
      const lines = [];
      const p = createBuildProgress({ report: (s) => lines.push(s) });
      for (const l of [
        '   • Running build in 3 packages',
        '@switchboard/core:build: cache hit, replaying logs 1234',
        '@switchboard/core:build: > tsc -p tsconfig.build.json',
        '\\x1b[2m@switchboard/queue:build: cache miss, executing 5678\\x1b[0m',
        '@switchboard/worker:build: cache bypass, force executing 9abc',
        '@switchboard/worker:build: src/main.ts(1,1): error TS1005',
      ]) p.line(l);
      console.log(JSON.stringify({ lines, counts: p.counts, log: p.failureLog() }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { lines: string[]; counts: { total: number; done: number; cached: number }; log: string };
    expect(out.lines).toEqual(['built 2/3 @switchboard/queue', 'built 3/3 @switchboard/worker']);
    expect(out.counts).toEqual({ total: 3, done: 3, cached: 1 });
    expect(out.log).toContain('error TS1005');
  });
});
