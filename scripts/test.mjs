// `pnpm test`: one jest run over the workspace, JSON summary in reports/jest.json, then
// a plain `N passed, M failed` line. Extra arguments go to jest (e.g. a path filter).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';

mkdirSync('reports', { recursive: true });
const out = 'reports/jest.json';
const args = ['exec', 'jest', '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
const run = spawnSync('pnpm', args, { stdio: 'inherit' });
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
}
process.exit(run.status ?? 1);
