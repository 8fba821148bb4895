import { parseAgentConfig } from './config.js';
import { pickVariant, routeTurn } from './routing.js';

const routing = (over: Record<string, unknown> = {}) => parseAgentConfig({ routing: { strongModel: 'big', minChars: 50, keywords: { es: ['reclamación'] }, ...over } }, 't', {}).routing;

describe('routing rules', () => {
  it('is always simple without a strong model', async () => {
    const r = parseAgentConfig({}, 't', {}).routing;
    expect(await routeTurn(r, { text: 'x'.repeat(5000), hasAttachments: true })).toBe('simple');
  });
  it('routes by length, attachments and keywords', async () => {
    expect(await routeTurn(routing(), { text: 'short', hasAttachments: false })).toBe('simple');
    expect(await routeTurn(routing(), { text: 'x'.repeat(50), hasAttachments: false })).toBe('length');
    expect(await routeTurn(routing(), { text: 'look', hasAttachments: true })).toBe('attachments');
    expect(await routeTurn(routing({ attachments: false }), { text: 'look', hasAttachments: true })).toBe('simple');
    expect(await routeTurn(routing(), { text: 'Quiero poner una reclamacion', hasAttachments: false })).toBe('keyword');
  });
  it('asks the classifier only when enabled and the rules say simple', async () => {
    let asked = 0;
    const classify = async () => {
      asked += 1;
      return 'complex' as const;
    };
    expect(await routeTurn(routing(), { text: 'hm', hasAttachments: false }, classify)).toBe('simple');
    expect(await routeTurn(routing({ classifier: true }), { text: 'hm', hasAttachments: false }, classify)).toBe('classifier');
    expect(await routeTurn(routing({ classifier: true }), { text: 'x'.repeat(60), hasAttachments: false }, classify)).toBe('length');
    expect(asked).toBe(1);
  });
});

describe('A/B variant draw', () => {
  const variants = [
    { name: 'a', weight: 80 },
    { name: 'b', weight: 20 },
  ];
  it('is deterministic per conversation and follows the weights', () => {
    expect(pickVariant(variants, 'conv-1')?.name).toBe(pickVariant(variants, 'conv-1')?.name);
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 2000; i += 1) counts[pickVariant(variants, `conv-${i}`)!.name]! += 1;
    expect(counts.a! / 2000).toBeGreaterThan(0.75);
    expect(counts.a! / 2000).toBeLessThan(0.85);
    expect(pickVariant([], 'x')).toBeUndefined();
    expect(pickVariant([{ name: 'only', weight: 0 }, { name: 'b', weight: 1 }], 'x')?.name).toBe('b');
  });
});
