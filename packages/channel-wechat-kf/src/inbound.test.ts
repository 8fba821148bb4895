import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every module reachable from `./inbound` through relative imports, with the packages each one imports. */
function importGraph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const src = readFileSync(join(__dirname, file), 'utf8');
    const specs = [...src.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!);
    seen.set(file, specs.filter((s) => !s.startsWith('.')));
    for (const s of specs.filter((x) => x.startsWith('./'))) visit(s.replace(/\.js$/, '.ts'));
  };
  visit(entry);
  return seen;
}

describe('@switchboard/channel-wechat-kf/inbound', () => {
  it('pulls in no HTTP client or Redis (ingress apps import it)', () => {
    const graph = importGraph('inbound.ts');
    expect(graph.size).toBeGreaterThan(3);
    const packages = new Set([...graph.values()].flat());
    for (const banned of ['axios', 'ioredis', 'bullmq', '@switchboard/queue']) expect(packages).not.toContain(banned);
  });
});
