// Process lifecycle of `pnpm start`: every child runs in its own process group (a terminal Ctrl-C
// reaches start.mjs only, which then stops the children in order), a detached reaper stops them if
// start.mjs itself dies without cleaning up, and SIGINT / SIGTERM / SIGHUP (to start.mjs or, via
// pnpm, to pnpm) or the loss of the parent process end in one clean stop.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const reaperPath = fileURLToPath(new URL('./reaper.mjs', import.meta.url));

/** Line splitter: calls `onLine` for each complete line of a stream. */
export function eachLine(stream, onLine) {
  let buf = '';
  stream.on('data', (d) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  });
  stream.on('end', () => {
    if (buf) onLine(buf);
    buf = '';
  });
}

const groupAlive = (pgid) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Creates the supervisor of one `pnpm start` run.
 * @param {{ say: (s: string) => void, graceMs?: number, reaperGraceMs?: number }} opts
 */
export function createSupervisor({ say, graceMs = 30_000, reaperGraceMs = 10_000 }) {
  /** @type {Map<number, { name: string, child?: import('node:child_process').ChildProcess, exited: Promise<void>, tail: string[], adopted?: boolean }>} */
  const groups = new Map();
  const reaper = spawn(process.execPath, [reaperPath, String(reaperGraceMs)], { detached: true, stdio: ['pipe', 'ignore', 'inherit'] });
  reaper.stdin.on('error', () => {});
  reaper.unref();
  const tell = (line) => {
    if (reaper.stdin.writable) reaper.stdin.write(`${line}\n`);
  };

  /**
   * Spawns `cmd` in its own process group, registered with the reaper. Output lines go through
   * `onStdout` / `onStderr`; the last `tailLines` stderr lines are kept for error reports.
   */
  function run(name, cmd, args, { cwd, env, onStdout, onStderr, tailLines = 30 }) {
    /** @type {import('node:child_process').ChildProcessByStdio<null, import('node:stream').Readable, import('node:stream').Readable> & { tail?: string[] }} */
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const entry = { name, child, tail: [], exited: null };
    entry.exited = new Promise((done) => {
      child.on('exit', () => {
        groups.delete(child.pid);
        tell(`-${child.pid}`);
        done();
      });
      child.on('error', (err) => {
        entry.tail.push(err.message);
        groups.delete(child.pid);
        done();
      });
    });
    if (child.pid) {
      groups.set(child.pid, entry);
      tell(`+${child.pid}`);
    }
    eachLine(child.stdout, (l) => onStdout?.(l));
    eachLine(child.stderr, (l) => {
      entry.tail.push(l);
      if (entry.tail.length > tailLines) entry.tail.shift();
      onStderr?.(l);
    });
    child.tail = entry.tail;
    return child;
  }

  /** Takes over a process group started elsewhere (a detached private redis-server): stopped last. */
  function adopt(name, pgid) {
    const entry = { name, tail: [], exited: null, adopted: true };
    entry.exited = (async () => {
      while (groupAlive(pgid)) await new Promise((r) => setTimeout(r, 100));
      groups.delete(pgid);
      tell(`-${pgid}`);
    })();
    groups.set(pgid, entry);
    tell(`+${pgid}`);
  }

  /** SIGTERM to the groups, SIGKILL after the grace period. Resolves true when all stopped in time. */
  async function stopGroups(entries) {
    for (const [pgid] of entries) {
      try {
        process.kill(-pgid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    let timer;
    const timedOut = new Promise((r) => {
      timer = setTimeout(() => r(false), graceMs);
    });
    const clean = await Promise.race([Promise.all(entries.map(([, e]) => e.exited)).then(() => true), timedOut]);
    clearTimeout(timer);
    if (!clean) {
      for (const [pgid, e] of entries) {
        say(`${e.name} did not stop within ${graceMs} ms: killed`);
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    return clean;
  }

  let stopping = null;
  /** Stops the spawned children, then the adopted processes; resolves true on a clean stop. */
  function stopAll() {
    stopping ??= (async () => {
      const own = [...groups].filter(([, e]) => !e.adopted);
      const adopted = [...groups].filter(([, e]) => e.adopted);
      const a = own.length ? await stopGroups(own) : true;
      const b = adopted.length ? await stopGroups(adopted) : true;
      tell('bye');
      return a && b;
    })();
    return stopping;
  }

  /**
   * Calls `onStop(reason)` once on SIGINT, SIGTERM or SIGHUP, and when the parent process goes
   * away (pnpm killed by a signal it does not forward: start.mjs is re-parented).
   */
  function onStopRequest(onStop) {
    let called = false;
    const once = (reason) => {
      if (called) return;
      called = true;
      onStop(reason);
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => once(s));
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid !== parent) once('parent exited');
    }, 500);
    watch.unref();
  }

  return { run, adopt, stopAll, onStopRequest };
}
