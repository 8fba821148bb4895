// The reaper of `pnpm start`: a tiny detached process that outlives scripts/start.mjs only to stop
// what it started. start.mjs writes `+<pgid>` / `-<pgid>` lines on our stdin as it starts and
// reaps process groups, and `bye` after a clean stop. If stdin closes without `bye` (start.mjs was
// SIGKILLed or crashed), every registered group gets SIGTERM, then SIGKILL after the grace period.
const graceMs = Number(process.argv[2] ?? 10_000);
const groups = new Set();
let buf = '';
let bye = false;

// Terminal signals are for start.mjs; the reaper lives until its pipe closes.
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {});

const alive = (pgid) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

async function reap() {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGTERM');
    } catch {
      groups.delete(g);
    }
  }
  const end = Date.now() + graceMs;
  while (groups.size > 0 && Date.now() < end) {
    for (const g of groups) if (!alive(g)) groups.delete(g);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  process.exit(0);
}

process.stdin.on('data', (d) => {
  buf += d.toString();
  const lines = buf.split('\n');
  buf = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^([+-])(\d+)$/.exec(line.trim());
    if (m) (m[1] === '+' ? groups.add(Number(m[2])) : groups.delete(Number(m[2])));
    else if (line.trim() === 'bye') bye = true;
  }
});
process.stdin.on('close', () => (bye ? process.exit(0) : void reap()));
process.stdin.on('error', () => void reap());
