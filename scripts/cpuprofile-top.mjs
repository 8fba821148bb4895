// Top frames of V8 CPU profiles (`pnpm bench -- --profile DIR` writes them):
//   node scripts/cpuprofile-top.mjs FILE.cpuprofile [--top 25] [--by function|package]
// Prints self time per frame (function, file:line) as a share of the busy (non-idle) time.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => a.endsWith('.cpuprofile'));
if (!file) {
  process.stderr.write('usage: node scripts/cpuprofile-top.mjs FILE.cpuprofile [--top 25] [--by function|package]\n');
  process.exit(2);
}
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const byAt = args.indexOf('--by');
const by = byAt >= 0 ? args[byAt + 1] : 'function';

/** @type {{ nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }>, samples: number[], timeDeltas: number[] }} */
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

/** Where a frame belongs: its package (node_modules name or workspace package) or a V8/Node category. */
function packageOf(url) {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const ws = /\/(packages|apps)\/([^/]+)\//.exec(url);
  return ws ? `@switchboard/${ws[2]}` : url;
}

function keyOf(node) {
  const f = node.callFrame;
  if (by === 'package') return ['(garbage collector)', '(program)', '(idle)'].includes(f.functionName) ? f.functionName : packageOf(f.url);
  const where = f.url ? `${f.url.replace(/^.*\/(node_modules|packages|apps)\//, '$1/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
}

const self = new Map();
let busy = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const node = nodes.get(id);
  if (!node) return;
  if (node.callFrame.functionName === '(idle)') {
    idle += dt;
    return;
  }
  busy += dt;
  const k = keyOf(node);
  self.set(k, (self.get(k) ?? 0) + dt);
});
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${file}: busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms; self time by ${by}`);
for (const [k, t] of rows) console.log(`${((100 * t) / busy).toFixed(1).padStart(5)} %  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
