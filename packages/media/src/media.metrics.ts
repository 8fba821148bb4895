import { Counter, type Registry } from 'prom-client';
import type { MediaCounter } from './media.resolver.js';

/** Name of the media outcome counter. */
export const MEDIA_COUNTER_NAME = 'sb_media_enrichments_total';

/** The media counter on `registry` (created once; a second call returns the same one). */
export function mediaCounter(registry: Registry): MediaCounter {
  const existing = registry.getSingleMetric(MEDIA_COUNTER_NAME);
  if (existing) return existing as MediaCounter;
  return new Counter({
    name: MEDIA_COUNTER_NAME,
    help: 'Inbound media by channel, kind and outcome (ok, cached, or the failure reason)',
    labelNames: ['channel', 'kind', 'outcome'] as const,
    registers: [registry],
  });
}
