// A throwaway local Redis Cluster (3 masters, no replicas) on free loopback ports, for tests and
// scripts: `redis-server --cluster-enabled yes` ×3 in a temp dir, then `redis-cli --cluster create`.
// Used by packages/queue/src/cluster.int.test.ts and apps/worker/src/cluster.e2e.int.test.ts.
const { spawn, spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const net = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

/** True when both `redis-server` and `redis-cli` are on PATH. */
function clusterToolsAvailable() {
  return ['redis-server', 'redis-cli'].every((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function cli(port, ...args) {
  return spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the cluster; resolves `{ ports, url, dir, stop() }` where `url` lists the three seeds
 * (`redis://127.0.0.1:P1,redis://127.0.0.1:P2,redis://127.0.0.1:P3`). Every step is bounded in time.
 */
/** @param {{ masters?: number, log?: (line: string) => void }} [opts] */
async function startCluster({ masters = 3, log = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cluster-'));
  const ports = [];
  // cluster bus port = port + 10000: pick ports whose bus port is below 65536
  while (ports.length < masters) {
    const p = await freePort();
    if (p + 10000 < 65536 && !ports.includes(p)) ports.push(p);
  }
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '5000', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = cli(port, 'PING').stdout.trim() === 'PONG';
        if (!up) await sleep(50);
      }
      if (!up) throw new Error(`redis-server on ${port} did not come up`);
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    let ok = false;
    for (let i = 0; i < 200 && !ok; i++) {
      ok = ports.every((p) => /cluster_state:ok/.test(cli(p, 'CLUSTER', 'INFO').stdout));
      if (!ok) await sleep(50);
    }
    if (!ok) throw new Error('cluster_state did not become ok');
    log(`redis cluster up on ${ports.join(', ')} (${dir})`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, dir, url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), stop };
}

module.exports = { clusterToolsAvailable, startCluster };
