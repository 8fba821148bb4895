import type { ChannelRegistry } from '@switchboard/core';
import type { WorkerRuntime } from '@switchboard/channel-runtime';
import { CHANNEL_MODULES, CHANNELS } from './index.js';

describe('the channel registry', () => {
  it('holds one whole module per channel id: inbound and worker halves of the same channel', () => {
    for (const [id, module] of Object.entries(CHANNEL_MODULES)) {
      expect(module.id).toBe(id);
      expect(module.inbound.channel).toBe(id);
      expect(module.worker.id).toBe(id);
      expect(module.worker.outboundQueue).toBe(`outbound-${id}`);
      expect(CHANNELS[module.id]).toBe(module.worker);
    }
    expect(Object.keys(CHANNEL_MODULES).sort()).toEqual(['chatwoot', 'telegram', 'wechat-kf', 'whatsapp']);
  });

  it('is complete by type: a registry without one of the channel ids does not compile (typecheck)', () => {
    const { telegram, ...others } = CHANNEL_MODULES;
    // @ts-expect-error the telegram entry is missing: ChannelRegistry is a complete Record<ChannelId, …>, not Partial
    const incomplete: ChannelRegistry<WorkerRuntime> = others;
    expect(Object.keys(incomplete)).not.toContain(telegram.id);
  });
});
