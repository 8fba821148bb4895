import type { WorkerDeps } from './deps.js';

/**
 * Runs `sweep` every `everyMs` in this process, never two at once (a slow sweep skips the ticks it
 * overlaps) and not after Redis was closed; a failure is logged as `<what> failed` and the next tick
 * tries again. The timer does not keep the process alive.
 * @returns stops the schedule
 */
export function startSweep(deps: WorkerDeps, what: string, everyMs: number, sweep: () => Promise<unknown>): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running || deps.redis.status === 'end') return;
    running = true;
    sweep()
      .catch((err: unknown) => deps.log.warn(`${what} failed`, { err: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
