import { Counter, type Registry } from 'prom-client';

/** Name of the refusal counter. */
export const FETCH_REFUSED_COUNTER_NAME = 'sb_fetch_refused_total';

/** `sb_fetch_refused_total{reason}` on `registry` (created once; a second call returns the same one). */
export function fetchRefusedCounter(registry: Registry): Counter<'reason'> {
  const existing = registry.getSingleMetric(FETCH_REFUSED_COUNTER_NAME);
  if (existing) return existing as Counter<'reason'>;
  return new Counter({
    name: FETCH_REFUSED_COUNTER_NAME,
    help: 'Fetches of outside-named URLs refused before connecting (non-public address, bad scheme, too many redirects), by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
}
