import { ChannelId, QUEUES, type QueueName } from '@switchboard/core';
import { countChannelEvents, listHumanOwned, type Producers, type RedisClient } from '@switchboard/queue';

/** Job counts of one queue. */
export interface QueueOverview {
  name: QueueName;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Jobs not yet done: waiting + active + delayed + prioritized + waiting-children. */
  depth: number;
}

/** What `/admin/overview.json` answers. */
export interface Overview {
  generatedAt: number;
  channels: Array<{ channel: ChannelId; inLastHour: number; outLastHour: number }>;
  queues: QueueOverview[];
  humanOwned: { count: number; conversations: Array<{ conversationId: string; channel: string; reason: string; since: number }> };
}

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/** Job counts of every catalog queue. */
export async function queueOverview(producers: Producers): Promise<QueueOverview[]> {
  return Promise.all(
    (Object.keys(QUEUES) as QueueName[]).map(async (name) => {
      const c = await producers.queue(name).getJobCounts(...STATES);
      const n = (k: string) => c[k] ?? 0;
      return {
        name,
        waiting: n('waiting'),
        active: n('active'),
        delayed: n('delayed'),
        failed: n('failed'),
        completed: n('completed'),
        depth: n('waiting') + n('active') + n('delayed') + n('prioritized') + n('waiting-children'),
      };
    }),
  );
}

/** Builds the overview: events per channel (last hour), queue depths and failures, human-owned conversations. */
export async function buildOverview(producers: Producers, redis: RedisClient, prefix: string, now = Date.now()): Promise<Overview> {
  const [channels, queues, owned] = await Promise.all([
    Promise.all(
      ChannelId.options.map(async (channel) => ({
        channel,
        inLastHour: await countChannelEvents(redis, prefix, channel, 'in', 60, now),
        outLastHour: await countChannelEvents(redis, prefix, channel, 'out', 60, now),
      })),
    ),
    queueOverview(producers),
    listHumanOwned(redis, prefix, 200),
  ]);
  return {
    generatedAt: now,
    channels,
    queues,
    humanOwned: {
      count: owned.length,
      // conversation ids start with the channel (`whatsapp-…`); they are hashes, never phone numbers
      conversations: owned.map((o) => ({ conversationId: o.conversationId, channel: ChannelId.options.find((c) => o.conversationId.startsWith(`${c}-`)) ?? 'unknown', reason: o.reason, since: o.at })),
    },
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The overview as a small self-contained HTML page (no scripts; refreshes itself). */
export function renderOverviewHtml(o: Overview, opts: { sandbox: boolean }): string {
  const rows = (cells: Array<string | number>[]) => cells.map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>Switchboard admin</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#1d2330}table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #d5d9e0;padding:.3rem .7rem;text-align:left}th{background:#f2f4f7}.bad{color:#b42318;font-weight:600}nav a{margin-right:1rem}</style>
</head><body>
<h1>Switchboard</h1>
<nav><a href="/admin/queues">Bull Board (queues, failed jobs, retry)</a><a href="/admin/overview.json">overview.json</a><a href="/metrics">metrics</a>${opts.sandbox ? '<a href="/sandbox">Sandbox</a>' : ''}</nav>
<h2>Events in the last hour</h2>
<table><tr><th>channel</th><th>in (customer messages)</th><th>out (parts sent)</th></tr>${rows(o.channels.map((c) => [c.channel, c.inLastHour, c.outLastHour]))}</table>
<h2>Queues</h2>
<table><tr><th>queue</th><th>depth</th><th>waiting</th><th>active</th><th>delayed</th><th>failed</th><th>completed (retained)</th></tr>
${o.queues.map((q) => `<tr><td>${esc(q.name)}</td><td>${q.depth}</td><td>${q.waiting}</td><td>${q.active}</td><td>${q.delayed}</td><td class="${q.failed > 0 ? 'bad' : ''}">${q.failed}</td><td>${q.completed}</td></tr>`).join('')}</table>
<h2>Conversations handed to humans (${o.humanOwned.count})</h2>
${o.humanOwned.count === 0 ? '<p>None.</p>' : `<table><tr><th>conversation</th><th>channel</th><th>reason</th><th>since</th></tr>${rows(o.humanOwned.conversations.map((c) => [c.conversationId, c.channel, c.reason, c.since ? new Date(c.since).toISOString() : '']))}</table>`}
<p><small>Generated ${esc(new Date(o.generatedAt).toISOString())}</small></p>
</body></html>`;
}
