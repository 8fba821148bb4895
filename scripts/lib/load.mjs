// Shared by the bench phases: CPU time and wake-ups of a process from /proc, and an open-loop load
// generator (no coordinated omission).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** User + system CPU time (ms) a process has used so far, from /proc/<pid>/stat (all its threads). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Voluntary context switches of a process's main thread so far (each one an event-loop sleep and wake-up). */
export function wakeUps(pid) {
  const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** CPU ms used by each pid while `fn` runs, and the first pid's voluntary context switches. */
export async function measureCpu(pids, fn) {
  const before = pids.map(cpuMs);
  const wakeBefore = wakeUps(pids[0]);
  const result = await fn();
  return { result, cpu: pids.map((p, i) => cpuMs(p) - before[i]), wakes: wakeUps(pids[0]) - wakeBefore };
}

export const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * Open-loop load: request i leaves at t0 + i/rate whatever happened to the earlier ones, on
 * keep-alive connections opened as needed; latency is counted from the scheduled time, so a stall
 * shows in full (no coordinated omission).
 */
export async function openLoad(url, items, rate) {
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });
  const n = items.length;
  const lat = new Array(n);
  const sentAt = new Array(n);
  const statuses = {};
  let maxLagMs = 0;
  let next = 0;
  let done = 0;
  const t0 = performance.now() + 20;
  const at0 = Date.now() + 20;
  await new Promise((finish) => {
    const fire = (idx) => {
      const item = items[idx];
      const scheduled = t0 + (idx * 1000) / rate;
      maxLagMs = Math.max(maxLagMs, performance.now() - scheduled);
      sentAt[idx] = at0 + (idx * 1000) / rate;
      const req = http.request({ agent, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': item.body.length, 'x-hub-signature-256': item.sig } }, (r) => {
        r.resume();
        r.on('end', () => end(r.statusCode));
      });
      const end = (status) => {
        lat[idx] = performance.now() - scheduled;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (++done === n) finish(undefined);
      };
      req.on('error', () => end(0));
      req.end(item.body);
    };
    const tick = () => {
      const now = performance.now();
      while (next < n && t0 + (next * 1000) / rate <= now) fire(next++);
      if (next < n) setTimeout(tick, 1);
    };
    setTimeout(tick, 20);
  });
  agent.destroy();
  const secs = (performance.now() - t0) / 1000;
  const sorted = [...lat].sort((a, b) => a - b);
  return { rate: n / secs, p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted[n - 1], statuses, sentAt, maxLagMs };
}
