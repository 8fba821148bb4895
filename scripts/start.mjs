// `pnpm start`: builds the workspace, finds (or starts) Redis, then runs every app as its own
// process with prefixed output. Ctrl-C / SIGTERM stops them all (and a private Redis it started).
// Without provider credentials it enables the sandbox (http://localhost:3000/sandbox): local secrets
// are generated once (kept in .data/sandbox/sandbox.env) and the workers send to the admin app's fake
// provider APIs, so a newcomer can chat through the real ingress, queues and workers. What is faked,
// and the sandbox's own key prefix and data folder, are decided in scripts/lib/sandbox-plan.cjs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { discoverRedis } from './redis-discovery.mjs';

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

loadDotenv();
const sandbox = prepareSandbox(root);
say('building (turbo, cached)…');
const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
if (build.status !== 0) process.exit(build.status ?? 1);

let redis;
try {
  redis = await discoverRedis({ dataDir: sandbox.enabled ? join(sandbox.dataDir, 'redis') : join(root, '.data/redis'), port: 6390, aof: true, log: say });
} catch (err) {
  process.stderr.write(`[start] ${err.message}\n`);
  process.exit(1);
}
say(`redis: ${redis.url}${redis.started ? ` (private, AOF on, data in ${sandbox.enabled ? '.data/sandbox/redis' : '.data/redis'})` : ''}`);

const order = ['whatsapp-ingress', 'wechat-ingress', 'chatwoot-ingress', 'worker', 'admin'];
const apps = readdirSync(join(root, 'apps'))
  .filter((a) => existsSync(join(root, 'apps', a, 'dist', 'main.js')))
  .sort((a, b) => order.indexOf(a) - order.indexOf(b));

const env = { ...process.env, REDIS_URL: redis.url };
const children = apps.map((name) => {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: join(root, 'apps', name), env: envFor(sandbox, name, env), stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `[${name}] `;
  const pipe = (stream, out) => {
    let buf = '';
    stream.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) out.write(prefix + l + '\n');
    });
  };
  pipe(child.stdout, process.stdout);
  pipe(child.stderr, process.stderr);
  child.on('exit', (code, signal) => say(`${name} exited (${signal ?? code})`));
  return child;
});
say(`started ${apps.join(', ')}`);
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

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }, 30_000);
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r))))).then(() => {
    clearTimeout(deadline);
    if (redis.started && redis.pid) {
      try {
        process.kill(redis.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    process.exit(0);
  });
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
