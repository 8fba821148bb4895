import { createMetricsRegistry, exportDependencyHealth } from './ops';

describe('sb_dependency_up', () => {
  it('is 1 for a passing readiness check, 0 for a failing, throwing or silent one, read at scrape time', async () => {
    const registry = createMetricsRegistry({ service: 'test' });
    let redisProblem: string | undefined = 'ECONNREFUSED';
    const checks = {
      redis: async () => redisProblem,
      store: async () => {
        throw new Error('connection terminated');
      },
      search: () => new Promise<string | undefined>(() => undefined),
      cache: async () => undefined,
    };
    exportDependencyHealth(registry, checks);
    exportDependencyHealth(registry, checks); // once per registry
    let text = await registry.metrics();
    expect(text.match(/^# TYPE sb_dependency_up gauge$/gm)).toHaveLength(1);
    expect(text).toMatch(/^sb_dependency_up\{dependency="redis"[^}]*\} 0$/m);
    expect(text).toMatch(/^sb_dependency_up\{dependency="store"[^}]*\} 0$/m);
    expect(text).toMatch(/^sb_dependency_up\{dependency="search"[^}]*\} 0$/m);
    expect(text).toMatch(/^sb_dependency_up\{dependency="cache"[^}]*\} 1$/m);
    redisProblem = undefined;
    text = await registry.metrics();
    expect(text).toMatch(/^sb_dependency_up\{dependency="redis"[^}]*\} 1$/m);
  });
});
