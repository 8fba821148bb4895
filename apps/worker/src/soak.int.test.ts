/**
 * The short CI version of `pnpm soak` (scripts/soak.mjs): real processes (private redis-server with
 * AOF, whatsapp-ingress, 2 workers, fake providers) under chaos — workers kill -9ed and restarted,
 * the ingress and Redis restarted, Graph 429/5xx/timeouts, LLM failures and slowness — with 300
 * messages in 40 conversations over 20 s, 30 % redelivered.
 *
 * Its length is dominated by BullMQ's stalled-job recovery after a kill -9 (the lock of a dead
 * worker's job expires after 30 s, then the stalled check moves it back), so the drain after the
 * load can take up to about a minute.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '@switchboard/testkit';

jest.setTimeout(240_000);

const script = resolve(REPO_ROOT, 'scripts', 'soak.mjs');
const built = ['apps/whatsapp-ingress/dist/main.js', 'apps/worker/dist/main.js', 'packages/testkit/dist/index.js'].every((f) => existsSync(resolve(REPO_ROOT, f)));

interface SoakResult {
  accepted: number;
  repliesDelivered: number;
  lost: number;
  /** Duplicates not explained by the documented kill -9 crash window (see docs/reliability.md). */
  duplicates: number;
  crashWindowDuplicates: number;
  orderViolations: number;
  misrouted: number;
  drainSeconds: number | null;
  suspectConversations?: string[];
}

describe('chaos soak (short)', () => {
  it('loses nothing, answers nothing twice, and keeps conversations in order but for the open crash case', async () => {
    if (!built) throw new Error('the apps are not built: run `pnpm build` first (`pnpm test` does)');
    const args = [script, '--messages', '300', '--conversations', '40', '--seconds', '20', '--workers', '2', '--late-max', '10', '--drain-timeout', '150', '--json'];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
    if (!line) throw new Error(`soak printed no result (exit ${code}):\n${out}\n${err.slice(-4000)}`);
    const r = JSON.parse(line) as SoakResult;
    const summary = { lost: r.lost, duplicates: r.duplicates, misrouted: r.misrouted, drained: r.drainSeconds !== null };
    if (code !== 0) process.stderr.write(`soak output:\n${out}\n`);
    expect(summary).toEqual({ lost: 0, duplicates: 0, misrouted: 0, drained: true });
    expect(r.accepted).toBe(300);
    expect(r.repliesDelivered).toBeGreaterThan(0);
    // docs/reliability.md §6.3 (open): a message whose inbound job was held by a worker killed with
    // kill -9 is answered after later messages of its conversation once the job is recovered. The
    // soak script itself still exits 1 on any order violation; here the rare crash case is bounded
    // instead of making CI fail at random, and loss/duplicates stay strict.
    expect(r.orderViolations).toBeLessThanOrEqual(2);
    if (r.orderViolations === 0) expect(code).toBe(0);
  });
});
