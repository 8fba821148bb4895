/**
 * The workspace's lint rules do what eslint.config.mjs says (a rule dropped or mis-scoped would
 * otherwise pass silently): the inbound half of a channel and the ingress apps stay free of
 * worker-side code, `process.env` is read only in configuration modules, product code never loads a
 * fake; `pnpm lint` runs the cycle check and `.ci/run` runs `pnpm lint`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

jest.setTimeout(180_000);
const root = resolve(__dirname, '..', '..');

interface Case {
  path: string;
  code: string;
}

/**
 * ESLint's rule ids for each `code` linted as if it were the file at `path` (an existing file, so
 * typed rules find its project). ESLint loads its ESM config with a dynamic import that jest's
 * module runtime does not provide: it runs in a child Node, once for all cases.
 */
function lintAll(cases: Case[]): string[][] {
  const program = `
    import { ESLint } from 'eslint';
    const cases = JSON.parse(process.argv[1]);
    const eslint = new ESLint({ cwd: process.cwd() });
    const out = [];
    for (const c of cases) {
      const [result] = await eslint.lintText(c.code, { filePath: c.path });
      out.push(result.messages.map((m) => m.ruleId ?? m.message));
    }
    process.stdout.write(JSON.stringify(out));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', program, JSON.stringify(cases.map((c) => ({ ...c, path: join(root, c.path) })))], { cwd: root, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[][];
}

const INBOUND = 'packages/channel-telegram/src/telegram.verify.ts';
const INGRESS_MAIN = 'apps/telegram-ingress/src/main.ts';
const WORKER_FILE = 'apps/worker/src/roles/outbound.ts';
const READ_ENV = 'export const token = process.env.TELEGRAM_BOT_TOKEN;\n';
const WORKER_SIDE = ['@switchboard/channel-telegram/outbound', '@switchboard/channel-telegram', './telegram.client.js', 'axios', '@switchboard/agent', '@switchboard/media'];
const CASES: Record<string, Case> = {
  ...Object.fromEntries(WORKER_SIDE.map((spec) => [`inbound:${spec}`, { path: INBOUND, code: `export { x } from '${spec}';\n` }])),
  'inbound:zod': { path: INBOUND, code: "export { z } from 'zod';\n" },
  'ingress:outbound': { path: INGRESS_MAIN, code: "export { TelegramClient } from '@switchboard/channel-telegram/outbound';\n" },
  'ingress:inbound': { path: INGRESS_MAIN, code: "export { telegramInbound } from '@switchboard/channel-telegram/inbound';\n" },
  'env:channel-outbound': { path: 'packages/channel-telegram/src/telegram.outbound.ts', code: READ_ENV },
  'env:worker': { path: WORKER_FILE, code: READ_ENV },
  'env:config-module': { path: 'packages/channel-telegram/src/telegram.env.ts', code: READ_ENV },
  'fake:worker': { path: WORKER_FILE, code: "export { startFakeTelegram } from '@switchboard/testkit';\n" },
};
let broken: Record<string, string[]>;
beforeAll(() => {
  const names = Object.keys(CASES);
  const results = lintAll(names.map((n) => CASES[n]!));
  broken = Object.fromEntries(names.map((n, i) => [n, results[i] ?? []]));
});
const rulesBroken = (name: string): string[] => broken[name] ?? [];

describe('lint rules', () => {
  it("a channel's inbound half cannot load its outbound half, an HTTP client, the agent or the media pipeline", () => {
    for (const spec of WORKER_SIDE) expect([spec, rulesBroken(`inbound:${spec}`)]).toEqual([spec, expect.arrayContaining(['@typescript-eslint/no-restricted-imports'])]);
    expect(rulesBroken('inbound:zod')).not.toContain('@typescript-eslint/no-restricted-imports');
  });

  it('an ingress app cannot load a channel outside its ./inbound subpath', () => {
    expect(rulesBroken('ingress:outbound')).toContain('@typescript-eslint/no-restricted-imports');
    expect(rulesBroken('ingress:inbound')).not.toContain('@typescript-eslint/no-restricted-imports');
  });

  it('process.env is read only in configuration modules', () => {
    expect(rulesBroken('env:channel-outbound')).toContain('no-restricted-properties');
    expect(rulesBroken('env:worker')).toContain('no-restricted-properties');
    expect(rulesBroken('env:config-module')).not.toContain('no-restricted-properties');
  });

  it('product code never loads a fake provider', () => {
    expect(rulesBroken('fake:worker')).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('pnpm lint runs the cycle check (type-only imports count) and .ci/run runs pnpm lint', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.lint).toMatch(/^pnpm run check:cycles && turbo run lint$/);
    expect(pkg.scripts['check:cycles']).toMatch(/^madge --circular .* apps packages scripts$/);
    expect(pkg.scripts['check:cycles']).not.toMatch(/skipTypeImports/);
    expect(readFileSync(join(root, '.ci', 'run'), 'utf8')).toMatch(/^pnpm lint\b/m);
  });

  it('every workspace package has the build-independent scripts turbo runs: typecheck, lint and test', () => {
    const dirs = ['apps', 'packages'].flatMap((d) => readdirSync(join(root, d)).map((name) => join(d, name))).concat('scripts');
    const missing = dirs.flatMap((dir) => {
      let pkg: { scripts?: Record<string, string> };
      try {
        pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
      } catch {
        return [];
      }
      return ['typecheck', 'lint', 'test'].filter((s) => !pkg.scripts?.[s]).map((s) => `${dir}: ${s}`);
    });
    expect(missing).toEqual([]);
  });
});
