// Small process helpers shared by the benchmark and soak scripts.
import { spawn } from 'node:child_process';
import net from 'node:net';

/** Resolves with the first line a child prints on stdout (its "ready" line); rejects if it exits first. */
export function firstLine(child) {
  return new Promise((resolveLine, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolveLine(buf.slice(0, i));
    });
    child.on('exit', (c) => reject(new Error(`${child.label ?? 'child'} exited ${c}${child.tail ? `: ${child.tail}` : ''}`)));
  });
}

/** Polls a URL until it answers 2xx (bounded). */
export async function waitHttp(url, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms`);
}

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((done, fail) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => done(port));
    });
    srv.on('error', fail);
  });
}

/**
 * Spawns a process with only PATH and `env`, keeps the last `tailBytes` of its output on
 * `child.tail` for reports, and tracks it in `children` while it runs.
 */
export function spawnTracked(children, cmd, args, { cwd, env = {}, label, tailBytes = 16384 }) {
  /** @type {import('node:child_process').ChildProcessByStdio<null, import('node:stream').Readable, import('node:stream').Readable> & { label?: string, tail?: string }} */
  const child = spawn(cmd, args, { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.label = label;
  child.tail = '';
  const keep = (d) => {
    child.tail = (child.tail + d.toString()).slice(-tailBytes);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
