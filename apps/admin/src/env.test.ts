import { isAbsolute, join } from 'node:path';
import { ConfigError, configRoot, loadConfig } from '@switchboard/core';
import { adminEnv, resolveAdminAuth } from './env';

describe('admin configuration', () => {
  it('refuses to start without ADMIN_USER and ADMIN_PASSWORD, naming what is missing', () => {
    expect(() => resolveAdminAuth(loadConfig(adminEnv, {}))).toThrow(ConfigError);
    expect(() => resolveAdminAuth(loadConfig(adminEnv, {}))).toThrow(/ADMIN_USER and ADMIN_PASSWORD: required/);
    expect(() => resolveAdminAuth(loadConfig(adminEnv, { ADMIN_USER: 'ops' }))).toThrow(/ADMIN_PASSWORD: required/);
    expect(() => resolveAdminAuth(loadConfig(adminEnv, { ADMIN_USER: 'ops', ADMIN_PASSWORD: '  ' }))).toThrow(/ADMIN_PASSWORD: required/);
  });

  it('uses the credentials when both are set, and nothing with ADMIN_AUTH=off', () => {
    expect(resolveAdminAuth(loadConfig(adminEnv, { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'pw' }))).toEqual({ user: 'ops', password: 'pw' });
    expect(resolveAdminAuth(loadConfig(adminEnv, { ADMIN_AUTH: 'off' }))).toBeUndefined();
    // credentials win over ADMIN_AUTH=off: never open by accident
    expect(resolveAdminAuth(loadConfig(adminEnv, { ADMIN_AUTH: 'off', ADMIN_USER: 'ops', ADMIN_PASSWORD: 'pw' }))).toEqual({ user: 'ops', password: 'pw' });
  });

  it('has the documented defaults; the sandbox is off unless asked for', () => {
    const cfg = loadConfig(adminEnv, {});
    expect(cfg).toMatchObject({ ADMIN_PORT: 3000, ADMIN_AUTH: true, SANDBOX: false, SANDBOX_WHATSAPP_INGRESS_URL: 'http://127.0.0.1:3001', SANDBOX_WECHAT_INGRESS_URL: 'http://127.0.0.1:3002' });
    expect(() => loadConfig(adminEnv, { ADMIN_PORT: 'x', SANDBOX: 'maybe' })).toThrow(/ADMIN_PORT[\s\S]*SANDBOX/);
  });

  it('resolves a relative AGENT_CONFIG from the repository root, as the workers do (not from apps/admin)', () => {
    const cfg = loadConfig(adminEnv, { AGENT_CONFIG: 'config/agent.example.yaml' });
    expect(cfg.AGENT_CONFIG).toBe(join(configRoot(), 'config', 'agent.example.yaml'));
    expect(isAbsolute(cfg.AGENT_CONFIG!)).toBe(true);
    expect(loadConfig(adminEnv, { AGENT_CONFIG: '/etc/switchboard/agent.yaml' }).AGENT_CONFIG).toBe('/etc/switchboard/agent.yaml');
    expect(loadConfig(adminEnv, { AGENT_CONFIG: ' ' }).AGENT_CONFIG).toBeUndefined();
  });
});
