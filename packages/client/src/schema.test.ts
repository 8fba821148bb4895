import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const PKG = resolve(__dirname, '..');

describe('the client types', () => {
  it('are what openapi-typescript generates from openapi.json (run `pnpm api:client` to regenerate)', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'sb-client-')), 'schema.ts');
    const cli = join(PKG, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
    const run = spawnSync(process.execPath, [cli, join(PKG, 'openapi.json'), '--output', out], { encoding: 'utf8', cwd: PKG });
    expect(run.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(PKG, 'src', 'schema.ts'), 'utf8'));
  });
});
