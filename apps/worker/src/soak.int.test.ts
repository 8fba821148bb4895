/**
 * The short CI version of `pnpm soak` (scripts/soak.mjs): real processes (private redis-server with
 * AOF, the WhatsApp, WeChat Kefu and Chatwoot ingresses, 2 workers, fake Graph/WeCom/Chatwoot/OpenAI)
 * under chaos — workers kill -9ed and restarted, each ingress and Redis restarted, Graph
 * 429/5xx/lost responses/timeouts, WeCom -1/503 and one access-token expiry (42001), Chatwoot
 * 429/500, LLM failures and slowness — with 300 messages in 40 conversations over 20 s (60 % WhatsApp,
 * 25 % WeChat, 15 % Chatwoot), 30 % redelivered. About 40 s here; the drain after the load is
 * dominated by BullMQ's stalled-job recovery after a kill -9 (WORKER_LOCK_MS, 5 s: re-run 2.5–6.25 s later).
 *
 * Strict: no loss, no duplicate reply, no order violation, nothing misrouted, on every channel.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '@switchboard/testkit';

jest.setTimeout(240_000);

const script = resolve(REPO_ROOT, 'scripts', 'soak.mjs');
const built = ['whatsapp-ingress', 'wechat-ingress', 'chatwoot-ingress', 'worker']
  .map((app) => `apps/${app}/dist/main.js`)
  .concat('packages/testkit/dist/index.js')
  .every((f) => existsSync(resolve(REPO_ROOT, f)));

interface ChannelFigures {
  conversations: number;
  sent: number;
  accepted: number;
  replies: number;
  lost: number;
  duplicates: number;
  orderViolations: number;
  misrouted: number;
}

interface SoakResult {
  accepted: number;
  repliesDelivered: number;
  lost: number;
  duplicates: number;
  duplicatesNearKill: number;
  duplicatesAfterLostResponse: number;
  orderViolations: number;
  misrouted: number;
  drainSeconds: number | null;
  perChannel: Record<string, ChannelFigures>;
  suspectConversations?: string[];
}

describe('chaos soak (short, all channels)', () => {
  it('loses nothing, answers nothing twice and keeps every conversation in order on WhatsApp, WeChat and Chatwoot', async () => {
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
    if (code !== 0) process.stderr.write(`soak output:\n${out}\n`);
    const summary = { lost: r.lost, duplicates: r.duplicates, orderViolations: r.orderViolations, misrouted: r.misrouted, drained: r.drainSeconds !== null };
    expect(summary).toEqual({ lost: 0, duplicates: 0, orderViolations: 0, misrouted: 0, drained: true });
    expect(r.accepted).toBe(300);
    expect(Object.keys(r.perChannel).sort()).toEqual(['chatwoot', 'wechat', 'whatsapp']);
    for (const [channel, f] of Object.entries(r.perChannel)) {
      expect({ channel, accepted: f.accepted, lost: f.lost, duplicates: f.duplicates, orderViolations: f.orderViolations, misrouted: f.misrouted }).toEqual({
        channel,
        accepted: f.sent,
        lost: 0,
        duplicates: 0,
        orderViolations: 0,
        misrouted: 0,
      });
      expect(f.replies).toBeGreaterThan(0);
    }
    expect(code).toBe(0);
  });
});
