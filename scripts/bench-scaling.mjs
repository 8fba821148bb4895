// `pnpm bench:scaling`: does the agent role scale by adding worker processes? Real processes on
// loopback: a private redis-server, the WhatsApp ingress, one `inbound,outbound` worker and 1, 2, 4
// `agent` workers, the fake providers with an LLM that takes 2 s. Prints turns/s, in-flight turns
// per agent process and the scaling ratio; then the memory (RSS) per process with 1,000
// conversations in flight.
//
// Options: --messages 600 (per step) --concurrency 50 (WORKER_CONCURRENCY of an agent worker)
//          --steps 1,2,4 --inflight 1000 (conversations held by ONE agent worker in the memory phase; 0 = skip)
//          --inflight-llm-ms 15000 (how long the fake LLM holds each of them: long enough that all are in flight at once)
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { firstLine, freePort, spawnTracked as track, waitHttp } from './lib/proc.mjs';
import { REDIS_CLOCK_ARGS } from './redis-discovery.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}
const MESSAGES = Number(arg('messages', 600));
const CONCURRENCY = Number(arg('concurrency', 50));
const STEPS = String(arg('steps', '1,2,4')).split(',').map(Number);
const INFLIGHT = Number(arg('inflight', 1000));
const INFLIGHT_LLM_MS = Number(arg('inflight-llm-ms', 15000));
const SECRET = 'scaling_app_secret';
const log = (s) => process.stderr.write(`[bench:scaling] ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();

for (const f of ['apps/whatsapp-ingress/dist/main.js', 'apps/worker/dist/main.js', 'packages/testkit/dist/index.js']) {
  if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run \`pnpm build\` first`);
}
if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) throw new Error('redis-server is not on PATH');

const spawnTracked = (cmd, args, env, label) => track(children, cmd, args, { cwd: root, env, label, tailBytes: 16384 });
async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 25_000);
  await exited;
  clearTimeout(t);
}
const rssMB = (pid) => {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    return kb / 1024;
  } catch {
    return NaN;
  }
};
async function metric(port, name) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
function postDelivery(port, run, i) {
  const waId = `1666${String(i).padStart(7, '0')}`;
  const body = Buffer.from(JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '1', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550001111', phone_number_id: '109876543210987' },
      contacts: [{ profile: { name: `Scale ${i}` }, wa_id: waId }],
      messages: [{ from: waId, id: `wamid.SCALE${run}x${i}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `scaling probe #c${i}:0 zqx` } }],
    } }] }],
  }));
  const sig = 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex');
  return new Promise((done) => {
    const req = http.request({ agent, host: '127.0.0.1', port, path: '/webhooks/whatsapp', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-hub-signature-256': sig } }, (r) => {
      r.resume();
      r.on('end', () => done(r.statusCode));
    });
    req.on('error', () => done(0));
    req.end(body);
  });
}
async function sendAll(port, run, n) {
  let next = 0;
  const statuses = {};
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < n) {
      const i = next++;
      let s = 0;
      for (let a = 0; a < 20 && s !== 200; a++) {
        s = await postDelivery(port, run, i);
        if (s !== 200) await sleep(200);
      }
      statuses[s] = (statuses[s] ?? 0) + 1;
    }
  }));
  return statuses;
}

const redisDir = mkdtempSync(join(tmpdir(), 'sb-scaling-redis-'));
const rows = [];
let exitCode = 0;
try {
  const redisPort = await freePort();
  spawnTracked('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no', ...REDIS_CLOCK_ARGS], {}, 'redis');
  await sleep(300);
  const fakes = spawnTracked(process.execPath, ['scripts/soak-fakes.mjs'], { SOAK_LLM_DELAY_MS: '2000' }, 'fakes');
  const urls = JSON.parse(await firstLine(fakes));
  const common = {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    LOG_LEVEL: 'error',
    WHATSAPP_APP_SECRET: SECRET,
    WHATSAPP_VERIFY_TOKEN: 'scaling',
    WHATSAPP_ACCESS_TOKEN: 'scaling-token',
    WHATSAPP_GRAPH_URL: urls.graph,
    OPENAI_API_KEY: 'sk-scaling',
    OPENAI_BASE_URL: urls.openai,
    TURN_DEBOUNCE_MS: '0',
    TURN_MAX_WAIT_MS: '0',
    WHATSAPP_SEND_RATE: '100000',
  };

  async function step(k, n, concurrency) {
    const prefix = `scale${k}x${Date.now().toString(36)}`;
    const env = { ...common, QUEUE_PREFIX: prefix };
    const ingressPort = await freePort();
    const ingress = spawnTracked(process.execPath, ['apps/whatsapp-ingress/dist/main.js'], { ...env, WHATSAPP_PORT: String(ingressPort) }, 'ingress');
    const ioPort = await freePort();
    const io = spawnTracked(process.execPath, ['apps/worker/dist/main.js'], { ...env, WORKER_ROLES: 'inbound,outbound', WORKER_CONCURRENCY: '64', WORKER_METRICS_PORT: String(ioPort) }, 'worker-io');
    /** @type {Array<ReturnType<typeof spawnTracked> & { metricsPort?: number }>} */
    const agents = [];
    for (let i = 0; i < k; i++) {
      const port = await freePort();
      /** @type {ReturnType<typeof spawnTracked> & { metricsPort?: number }} */
      const w = spawnTracked(process.execPath, ['apps/worker/dist/main.js'], { ...env, WORKER_ROLES: 'agent', WORKER_CONCURRENCY: String(concurrency), WORKER_METRICS_PORT: String(port) }, `agent-${i}`);
      w.metricsPort = port;
      agents.push(w);
    }
    await Promise.all([waitHttp(`http://127.0.0.1:${ingressPort}/readyz`), waitHttp(`http://127.0.0.1:${ioPort}/readyz`), ...agents.map((w) => waitHttp(`http://127.0.0.1:${w.metricsPort}/readyz`))]);
    const before = /** @type {any} */ (await (await fetch(`${urls.control}/sends?from=0`)).json()).total;
    await fetch(`${urls.control}/llm/reset`);
    const maxInFlight = agents.map(() => 0);
    const maxRss = { ingress: 0, 'worker-io': 0, agents: agents.map(() => 0) };
    const maxHeap = agents.map(() => 0);
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 10_000; i++) {
        const vals = await Promise.all(agents.map((w) => metric(w.metricsPort, 'sb_turns_in_flight')));
        vals.forEach((v, j) => (maxInFlight[j] = Math.max(maxInFlight[j], Number.isFinite(v) ? v : 0)));
        maxRss.ingress = Math.max(maxRss.ingress, rssMB(ingress.pid));
        maxRss['worker-io'] = Math.max(maxRss['worker-io'], rssMB(io.pid));
        agents.forEach((w, j) => (maxRss.agents[j] = Math.max(maxRss.agents[j], rssMB(w.pid))));
        const heaps = await Promise.all(agents.map((w) => metric(w.metricsPort, 'nodejs_heap_size_used_bytes')));
        heaps.forEach((h, j) => (maxHeap[j] = Math.max(maxHeap[j], Number.isFinite(h) ? h / 1048576 : 0)));
        await sleep(250);
      }
    })();
    const t0 = Date.now();
    const statuses = await sendAll(ingressPort, `${k}${t0}`, n);
    let done = 0;
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline) {
      done = /** @type {any} */ (await (await fetch(`${urls.control}/sends?from=${before}`)).json()).sends.length;
      if (done >= n) break;
      await sleep(250);
    }
    const secs = (Date.now() - t0) / 1000;
    const llm = /** @type {any} */ (await (await fetch(`${urls.control}/llm`)).json());
    sampling = false;
    await sampler;
    for (const c of [...agents, io, ingress]) await stop(c);
    return { k, n, done, secs, turnsPerSec: done / secs, maxInFlight, llmMaxInFlight: llm.maxInFlight, maxRss, maxHeap, statuses };
  }

  log(`LLM takes 2 s; ${MESSAGES} conversations per step; WORKER_CONCURRENCY=${CONCURRENCY} per agent process`);
  const results = [];
  for (const k of STEPS) {
    log(`step: ${k} agent worker(s)`);
    results.push(await step(k, MESSAGES, CONCURRENCY));
  }
  const base = results[0].turnsPerSec / results[0].k;
  console.log('| agent workers | turns/s | ideal turns/s | scaling vs 1 | max in-flight turns per process | replies | agent RSS MB (max) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const ideal = (r.k * CONCURRENCY) / 2;
    console.log(`| ${r.k} | ${r.turnsPerSec.toFixed(1)} | ${ideal.toFixed(0)} | ${(r.turnsPerSec / results[0].turnsPerSec).toFixed(2)}× (${((100 * r.turnsPerSec) / (base * r.k)).toFixed(0)} % of linear) | ${r.maxInFlight.join(' / ')} | ${r.done}/${r.n} | ${r.maxRss.agents.map((x) => x.toFixed(0)).join(' / ')} |`);
    if (r.done < r.n) exitCode = 1;
  }
  rows.push(...results);

  if (INFLIGHT > 0) {
    log(`memory: ${INFLIGHT} conversations in flight in one agent worker (WORKER_CONCURRENCY=${INFLIGHT}, LLM ${INFLIGHT_LLM_MS} ms)`);
    await fetch(`${urls.control}/chaos/llm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delayMs: INFLIGHT_LLM_MS }) });
    const m = await step(1, INFLIGHT, INFLIGHT);
    const verdict = m.maxRss.agents[0] < 300 ? 'PASS' : 'FAIL';
    console.log(`\nmemory with ${INFLIGHT} conversations in flight in one agent worker (LLM ${INFLIGHT_LLM_MS} ms, peak in-flight ${m.maxInFlight.join(' / ')}, fake LLM max in flight ${m.llmMaxInFlight}):`);
    console.log(`  RSS MB: agent worker ${m.maxRss.agents[0].toFixed(0)} (budget < 300: ${verdict}; JS heap used at most ${m.maxHeap[0].toFixed(0)} MB), ingress ${m.maxRss.ingress.toFixed(0)}, inbound+outbound worker ${m.maxRss['worker-io'].toFixed(0)}`);
    rows.push({ memory: { inflight: INFLIGHT, llmMs: INFLIGHT_LLM_MS, peakInFlight: m.maxInFlight[0], llmMaxInFlight: m.llmMaxInFlight, rssMB: m.maxRss } });
    if (m.done < m.n) exitCode = 1;
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
} catch (err) {
  log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  exitCode = 2;
} finally {
  agent.destroy();
  for (const c of [...children]) c.kill('SIGKILL');
  await sleep(200);
  rmSync(redisDir, { recursive: true, force: true });
  process.exit(exitCode);
}
