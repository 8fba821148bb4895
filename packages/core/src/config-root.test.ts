import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configRoot, resolveConfigPath } from './config-paths';

describe('configRoot / resolveConfigPath', () => {
  const top = mkdtempSync(join(tmpdir(), 'sb-root-'));
  afterAll(() => rmSync(top, { recursive: true, force: true }));

  it('is the nearest folder holding .env, else pnpm-workspace.yaml, else the working directory', () => {
    const repo = join(top, 'repo');
    const app = join(repo, 'apps', 'worker');
    mkdirSync(app, { recursive: true });
    expect(configRoot(app)).toBe(app);
    writeFileSync(join(repo, 'pnpm-workspace.yaml'), 'packages: []\n');
    expect(configRoot(app)).toBe(repo);
    writeFileSync(join(top, '.env'), '');
    expect(configRoot(app)).toBe(top);
    writeFileSync(join(repo, '.env'), '');
    expect(configRoot(app)).toBe(repo);
  });

  it('keeps absolute paths and resolves relative ones from the root', () => {
    expect(resolveConfigPath('/etc/tls/cert.pem', undefined, '/repo')).toBe('/etc/tls/cert.pem');
    expect(resolveConfigPath('certs/cert.pem', undefined, '/repo')).toBe('/repo/certs/cert.pem');
    expect(resolveConfigPath('../certs/cert.pem', undefined, '/repo')).toBe('/certs/cert.pem');
  });
});
