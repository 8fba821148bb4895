// `pnpm test`: typechecks the workspace (turbo), then one jest run over every package and app
// against a real Redis (found or started by the jest global setup). The JSON summary goes to
// reports/jest.json and a plain `N passed, M failed` line ends the output.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.length === 0) {
  // build (real-process tests start apps/*/dist/main.js) and typecheck every package (scripts/ included)
  const tc = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', 'typecheck', '--output-logs=errors-only'], { stdio: 'inherit', env });
  if (tc.status !== 0) {
    console.log('build/typecheck failed');
    console.log('0 passed, 1 failed');
    process.exit(tc.status ?? 1);
  }
}
mkdirSync('reports', { recursive: true });
const out = 'reports/jest.json';
rmSync(out, { force: true });
const run = spawnSync('pnpm', ['exec', 'jest', '--json', `--outputFile=${out}`, ...args], { stdio: 'inherit', env });
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
}
process.exit(run.status ?? 1);
