// `pnpm start`: builds the workspace (with progress), finds (or starts) Redis, then runs every app
// as its own process with prefixed output and waits until each answers /healthz. An app that exits
// during start-up stops the start with its error. SIGINT / SIGTERM / SIGHUP to pnpm or to this
// script stop every app and a private Redis it started, then exit 0 (scripts/lib/lifecycle.mjs); so
// does SIGINT / SIGTERM to any app, the private Redis or the embedded store (it stops, the rest follow).
// The data store is DATABASE_URL, else an embedded PostgreSQL-compatible store (PGlite) started
// here with data in .data/store (.data/sandbox/store for the sandbox), stopped after the apps
// (scripts/lib/store-discovery.mjs).
// Flags: --no-build, --apps=a,b (a subset of apps/), --private-redis-port=N (always a private
// redis-server on N, data in .data/redis-N), --store-dir=PATH (the embedded store's folder).
// Without provider credentials it enables the sandbox (http://localhost:3000/sandbox): local secrets
// are generated once (kept in .data/sandbox/sandbox.env) and the workers send to the admin app's fake
// provider APIs, so a newcomer can chat through the real ingress, queues and workers. What is faked,
// and the sandbox's own key prefix and data folder, are decided in scripts/lib/sandbox-plan.cjs.
import http from 'node:http';
import https from 'node:https';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createBuildProgress, TURBO_BUILD_ARGS } from './lib/build-progress.mjs';
import { createSupervisor } from './lib/lifecycle.mjs';
import { discoverRedis } from './redis-discovery.mjs';
import { discoverStore } from './lib/store-discovery.mjs';

// the sandbox decision (what is faked, its secrets, prefix and data folder): scripts/lib/sandbox-plan.cjs
const { prepareSandbox, envFor } = createRequire(import.meta.url)('./lib/sandbox-plan.cjs');

const root = resolve(new URL('..', import.meta.url).pathname);
const say = (s) => process.stdout.write(`[start] ${s}\n`);

function loadDotenv() {
  const file = join(root, '.env');
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (m && process.env[m[1]] === undefined) process.env[m[1]] = m[2].replace(/^["']|["']$/g, '');
  }
}

let flags;
try {
  flags = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: { 'no-build': { type: 'boolean', default: false }, apps: { type: 'string' }, 'private-redis-port': { type: 'string' }, 'store-dir': { type: 'string' } },
    strict: true,
  }).values;
} catch (err) {
  process.stderr.write(`[start] ${err.message}\n[start] flags: --no-build, --apps=a,b, --private-redis-port=N, --store-dir=PATH\n`);
  process.exit(1);
}

/** Where each app answers /healthz (its start-up is over when it does). */
const healthPorts = {
  'whatsapp-ingress': ['WHATSAPP_PORT', 3001],
  'wechat-ingress': ['WECHAT_PORT', 3002],
  'chatwoot-ingress': ['CHATWOOT_PORT', 3003],
  'telegram-ingress': ['TELEGRAM_PORT', 3004],
  worker: ['WORKER_METRICS_PORT', 9464],
  admin: ['ADMIN_PORT', 3000],
};
const START_TIMEOUT_MS = 120_000;

const sup = createSupervisor({ say });
let stopping = false;
let redisStarting;
/** Stops everything once and exits: `code` after a clean stop, 1 when something had to be killed. */
async function shutdown(code, reason) {
  if (stopping) return;
  stopping = true;
  say(`stopping${reason ? ` (${reason})` : ''}…`);
  // a redis-server being started right now is adopted first, so it is stopped too
  await redisStarting?.catch(() => {});
  const clean = await sup.stopAll();
  say(clean ? 'stopped' : 'stopped (not cleanly)');
  process.exit(clean ? code : code || 1);
}
sup.onStopRequest((reason) => void shutdown(0, reason));

/** Stops everything because of `what`, printing the last stderr lines of the process at fault. */
function fail(what, tail = []) {
  process.stderr.write(`[start] ${what}\n`);
  if (tail.length) process.stderr.write(tail.map((l) => `    ${l}`).join('\n') + '\n');
  void shutdown(1);
}

/**
 * A private redis-server or the embedded store that ends while the start runs stops everything: a
 * clean exit (it got SIGTERM or SIGINT) is a clean stop with exit 0, anything else a failure.
 */
function watchService(name, exited) {
  void exited?.then((code) => {
    if (stopping) return;
    if (code === 0) void shutdown(0, `${name} stopped`);
    else fail(`${name} exited (exit ${code}); stopping the apps`);
  });
}

/** Resolves with the exit code of a supervised child. */
const exitOf = (child) =>
  new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode ?? 1);
    else child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
    child.on('error', () => done(127));
  });

loadDotenv();
const sandbox = prepareSandbox(root);

async function main() {
  if (!flags['no-build']) {
    const started = Date.now();
    say('building (turbo, cached; the first build takes a few minutes)…');
    const progress = createBuildProgress({ report: say });
    const build = sup.run('build', 'pnpm', TURBO_BUILD_ARGS, {
      cwd: root,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      onStdout: progress.line,
      onStderr: progress.line,
    });
    const code = await exitOf(build);
    if (stopping) return;
    if (code !== 0) {
      process.stderr.write(`${progress.failureLog()}\n`);
      fail(`build failed (exit ${code}); fix the errors above, or start the last build with --no-build`);
      return;
    }
    const { total, cached } = progress.counts;
    say(`built ${total} packages (${cached} cached) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  // the store starts while Redis is found: its first start (initdb) takes several seconds
  const storeStarting = discoverStore({
    root,
    dataDir: flags['store-dir'] ? resolve(flags['store-dir']) : sandbox.enabled ? join(sandbox.dataDir, 'store') : join(root, '.data/store'),
    log: (l) => process.stdout.write(`[store] ${l}\n`),
    onSpawn: (pid) => {
      sup.adopt('store', pid);
      // spawned while stopping (after a stale-lock check): the supervisor's stop list is already made
      if (stopping) process.kill(-pid, 'SIGTERM');
    },
  });
  storeStarting.catch(() => {});

  let redis;
  try {
    const privatePort = flags['private-redis-port'];
    if (privatePort !== undefined && !/^\d{1,5}$/.test(privatePort)) throw new Error(`--private-redis-port: not a port: ${privatePort}`);
    if (privatePort !== undefined) delete process.env.REDIS_URL;
    redisStarting = discoverRedis({
      dataDir: privatePort ? join(root, `.data/redis-${privatePort}`) : sandbox.enabled ? join(sandbox.dataDir, 'redis') : join(root, '.data/redis'),
      port: privatePort ? Number(privatePort) : 6390,
      aof: true,
      log: say,
      ...(privatePort ? { privateOnly: true } : {}),
    }).then((r) => {
      if (r.started && r.pid) {
        sup.adopt('redis-server', r.pid);
        watchService('redis-server', r.exited);
      }
      return r;
    });
    redis = await redisStarting;
  } catch (err) {
    fail(err.message);
    return;
  }
  if (stopping) return;
  say(`redis: ${redis.url}${redis.started ? ` (private, AOF on, stopped with the apps)` : ''}`);

  let store;
  try {
    store = await storeStarting;
  } catch (err) {
    fail(err.message);
    return;
  }
  if (stopping) return;
  if (store.started) watchService('store', store.exited);
  if (process.env.DATABASE_URL?.trim()) say('store: DATABASE_URL');
  else say(`store: ${store.url} (embedded${store.started ? `, started in ${(store.ms / 1000).toFixed(1)} s, stopped with the apps` : `, served by process ${store.pid}`})`);

  const order = ['whatsapp-ingress', 'wechat-ingress', 'chatwoot-ingress', 'telegram-ingress', 'worker', 'admin'];
  const wanted = flags.apps ? flags.apps.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const built = readdirSync(join(root, 'apps')).filter((a) => existsSync(join(root, 'apps', a, 'dist', 'main.js')));
  for (const name of wanted ?? []) if (!built.includes(name)) fail(`--apps: ${name} is not a built app (built: ${built.join(', ')})`);
  if (stopping) return;
  const apps = built.filter((a) => !wanted || wanted.includes(a)).sort((a, b) => order.indexOf(a) - order.indexOf(b));

  const env = { ...process.env, REDIS_URL: redis.url, DATABASE_URL: store.url };
  let ready = false;
  const children = apps.map((name) => {
    const prefix = `[${name}] `;
    const child = sup.run(name, process.execPath, ['dist/main.js'], {
      cwd: join(root, 'apps', name),
      env: envFor(sandbox, name, env),
      onStdout: (l) => process.stdout.write(prefix + l + '\n'),
      onStderr: (l) => process.stderr.write(prefix + l + '\n'),
    });
    void exitOf(child).then((code) => {
      if (stopping) return;
      if (!ready) fail(`${name} exited during start-up (exit ${code}); its last error lines:`, child.tail);
      else if (code === 0) void shutdown(0, `${name} stopped`);
      else fail(`${name} exited (exit ${code}); stopping the others. Its last error lines:`, child.tail);
    });
    return child;
  });

  /** GET /healthz on loopback (HTTPS when the apps serve TLS); resolves true on a 2xx. */
  function healthy(port) {
    const tls = !!(process.env.TLS_CERT_FILE || process.env.SSL_CERTIFILE_PATH);
    return new Promise((done) => {
      const req = (tls ? https : http).get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000, rejectUnauthorized: false }, (res) => {
        res.resume();
        done((res.statusCode ?? 500) < 300);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => done(false));
    });
  }

  const deadline = Date.now() + START_TIMEOUT_MS;
  const pending = new Set(apps.filter((a) => healthPorts[a]));
  while (pending.size > 0 && !stopping) {
    for (const name of [...pending]) {
      const [variable, def] = healthPorts[name];
      if (await healthy(Number(process.env[variable] || def))) pending.delete(name);
    }
    if (pending.size === 0 || stopping) break;
    if (Date.now() > deadline) {
      fail(`${[...pending].join(', ')} did not answer /healthz within ${START_TIMEOUT_MS / 1000} s`);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (stopping) return;
  ready = true;
  void children;

  say(`ready: ${apps.join(', ')}`);
  say(`WhatsApp webhook: http://localhost:${process.env.WHATSAPP_PORT || '3001'}/webhooks/whatsapp   worker metrics: http://localhost:${process.env.WORKER_METRICS_PORT || '9464'}/metrics`);
  say(`admin: http://localhost:${process.env.ADMIN_PORT || '3000'}/admin   Bull Board: http://localhost:${process.env.ADMIN_PORT || '3000'}/admin/queues`);
  if (sandbox.enabled) {
    const line = '='.repeat(72);
    say(line);
    say(`SANDBOX (${sandbox.labels.join(' + ')} faked: no provider credentials): chat at`);
    say(`    http://localhost:${sandbox.adminPort}/sandbox`);
    say(`sandbox data: ${sandbox.dataDir} (secrets in sandbox.env), Redis key prefix ${process.env.QUEUE_PREFIX}`);
    if (sandbox.real.length > 0) say(`real channels next to it: ${sandbox.real.join(', ')} (never faked; the sandbox gets none of their secrets)`);
    if (sandbox.login) say(`admin login: ${sandbox.login.user} / ${sandbox.login.password}`);
    else if (process.env.ADMIN_AUTH === 'off') say('admin auth is OFF (local sandbox only, loopback Host only); set ADMIN_USER and ADMIN_PASSWORD to turn it on');
    if (!process.env.OPENAI_API_KEY?.trim()) say('OPENAI_API_KEY is not set: the agent answers from its FAQ in offline mode');
    say(line);
  } else {
    say(`sandbox off: ${sandbox.reason}`);
  }
  say('Ctrl-C (or SIGTERM) stops everything');
}

await main();
