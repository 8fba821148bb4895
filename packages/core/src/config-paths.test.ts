import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configRoot, filePath, resolveConfigPath } from './config-paths.js';
import { loadConfig } from './config.js';

describe('relative paths in variables', () => {
  let repo: string;
  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'sb-root-'));
    writeFileSync(join(repo, 'pnpm-workspace.yaml'), 'packages: []\n');
    mkdirSync(join(repo, 'apps', 'worker'), { recursive: true });
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('finds the repository root from an app folder', () => {
    expect(configRoot(join(repo, 'apps', 'worker'))).toBe(repo);
    expect(resolveConfigPath('config/agent.yaml', join(repo, 'apps', 'worker'))).toBe(join(repo, 'config', 'agent.yaml'));
  });

  it('prefers the directory of the nearest .env', () => {
    const nested = join(repo, 'apps', 'worker');
    writeFileSync(join(nested, '.env'), 'X=1\n');
    try {
      expect(configRoot(nested)).toBe(nested);
    } finally {
      rmSync(join(nested, '.env'));
    }
  });

  it('keeps absolute paths and treats blanks as unset', () => {
    const shape = { AGENT_CONFIG: filePath() };
    expect(loadConfig(shape, { AGENT_CONFIG: '/etc/agent.yaml' }).AGENT_CONFIG).toBe('/etc/agent.yaml');
    expect(loadConfig(shape, { AGENT_CONFIG: '  ' }).AGENT_CONFIG).toBeUndefined();
    expect(loadConfig(shape, {}).AGENT_CONFIG).toBeUndefined();
  });

  it('resolves a relative value from the repository root, not the working directory', () => {
    const value = loadConfig({ P: filePath() }, { P: 'config/agent.example.yaml' }).P;
    expect(value).toBe(join(configRoot(), 'config', 'agent.example.yaml'));
    expect(existsSync(value ?? '')).toBe(true);
  });
});
