import { ChannelId, DEFAULT_ACCOUNT_ID, describeAccounts, QUEUES, type AccountsFile, type QueueName } from '@switchboard/core';
import { countAccountEvents, countChannelEvents, listCountedAccounts, listHumanOwned, type Producers, type RedisClient } from '@switchboard/queue';

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

/**
 * One gateway account in the overview: where it is defined and its events in the last hour.
 * `source`: `environment` = the channel's variables (`default`), `file` = an `ACCOUNTS_FILE` entry,
 * `unlisted` = counted recently but no longer in the file (removed since; restart pending elsewhere?).
 * Never a setting: ids, titles and the agent file only.
 */
export interface AccountOverview {
  channel: string;
  id: string;
  title?: string;
  /** Absolute path of the account's own `AGENT_CONFIG` (absent = the deployment's). */
  agent?: string;
  /** The account that mirrors this account's conversations (the file's `mirror` key), when named. */
  mirror?: string;
  source: 'environment' | 'file' | 'unlisted';
  inLastHour: number;
  outLastHour: number;
}

/** What `/admin/overview.json` answers. */
export interface Overview {
  generatedAt: number;
  channels: Array<{ channel: ChannelId; inLastHour: number; outLastHour: number }>;
  /** The `ACCOUNTS_FILE` this console read at start (absent = not set: one `default` account per channel). */
  accountsFile?: string;
  /** Every account of the file plus every account with events in the last two hours, by channel then id. */
  accounts: AccountOverview[];
  queues: QueueOverview[];
  /** Conversations a human owns; `accountId` absent = the channel's `default` account. */
  humanOwned: { count: number; conversations: Array<{ conversationId: string; channel: string; accountId?: string; reason: string; since: number }> };
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

/**
 * The accounts to show: the file's (with titles and agents), and any account with recent events —
 * `default` once it has traffic, and accounts since removed from the file.
 */
async function accountsOverview(redis: RedisClient, prefix: string, file: AccountsFile | undefined, now: number): Promise<AccountOverview[]> {
  const rows = new Map<string, Omit<AccountOverview, 'inLastHour' | 'outLastHour'>>();
  for (const a of file ? describeAccounts(file) : []) {
    // describeAccounts is the one summary safe to show: take what it gives (title, agent, mirror), never the entry
    const { id, channel, ...described } = a as typeof a & { mirror?: string };
    rows.set(`${channel}/${id}`, { channel, id, ...described, source: 'file' });
  }
  for (const c of await listCountedAccounts(redis, prefix, now)) {
    const key = `${c.channel}/${c.accountId}`;
    if (!rows.has(key)) rows.set(key, { channel: c.channel, id: c.accountId, source: c.accountId === DEFAULT_ACCOUNT_ID ? 'environment' : 'unlisted' });
  }
  const order = (ch: string) => {
    const i = (ChannelId.options as readonly string[]).indexOf(ch);
    return i < 0 ? ChannelId.options.length : i;
  };
  const sorted = [...rows.values()].sort((a, b) => order(a.channel) - order(b.channel) || (a.id === DEFAULT_ACCOUNT_ID ? -1 : b.id === DEFAULT_ACCOUNT_ID ? 1 : a.id.localeCompare(b.id)));
  return Promise.all(
    sorted.map(async (a) => ({
      ...a,
      inLastHour: await countAccountEvents(redis, prefix, a.channel, a.id, 'in', 60, now),
      outLastHour: await countAccountEvents(redis, prefix, a.channel, a.id, 'out', 60, now),
    })),
  );
}

/**
 * Builds the overview: events per channel and per account (last hour), the configured accounts,
 * queue depths and failures, human-owned conversations with their account.
 */
export async function buildOverview(producers: Producers, redis: RedisClient, prefix: string, now = Date.now(), accountsFile?: AccountsFile): Promise<Overview> {
  const [channels, accounts, queues, owned] = await Promise.all([
    Promise.all(
      ChannelId.options.map(async (channel) => ({
        channel,
        inLastHour: await countChannelEvents(redis, prefix, channel, 'in', 60, now),
        outLastHour: await countChannelEvents(redis, prefix, channel, 'out', 60, now),
      })),
    ),
    accountsOverview(redis, prefix, accountsFile, now),
    queueOverview(producers),
    listHumanOwned(redis, prefix, 200),
  ]);
  return {
    generatedAt: now,
    channels,
    ...(accountsFile ? { accountsFile: accountsFile.path } : {}),
    accounts,
    queues,
    humanOwned: {
      count: owned.length,
      // conversation ids start with the channel (`whatsapp-…`); they are hashes, never phone numbers
      conversations: owned.map((o) => ({
        conversationId: o.conversationId,
        channel: ChannelId.options.find((c) => o.conversationId.startsWith(`${c}-`)) ?? 'unknown',
        ...(o.accountId !== DEFAULT_ACCOUNT_ID ? { accountId: o.accountId } : {}),
        reason: o.reason,
        since: o.at,
      })),
    },
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const SOURCE_LABEL: Record<AccountOverview['source'], string> = { environment: 'environment', file: 'ACCOUNTS_FILE', unlisted: 'not in ACCOUNTS_FILE (removed?)' };

function accountsTable(accounts: AccountOverview[]): string {
  const mirrors = accounts.some((a) => a.mirror);
  const head = ['channel', 'account', 'title', 'defined in', 'agent', ...(mirrors ? ['mirrored to'] : []), 'in', 'out'];
  const row = (a: AccountOverview) =>
    `<tr><td>${esc(a.channel)}</td><td><code>${esc(a.id)}</code></td><td>${esc(a.title ?? '')}</td><td${a.source === 'unlisted' ? ' class="bad"' : ''}>${SOURCE_LABEL[a.source]}</td><td>${esc(a.agent ?? 'AGENT_CONFIG')}</td>${mirrors ? `<td>${esc(a.mirror ?? '')}</td>` : ''}<td>${a.inLastHour}</td><td>${a.outLastHour}</td></tr>`;
  return `<table data-testid="accounts"><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${accounts.map(row).join('')}</table>`;
}

/** The overview as a small self-contained HTML page (no scripts; refreshes itself). */
export function renderOverviewHtml(o: Overview, opts: { sandbox: boolean }): string {
  const rows = (cells: Array<string | number>[]) => cells.map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>Switchboard admin</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#1d2330}table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #d5d9e0;padding:.3rem .7rem;text-align:left}th{background:#f2f4f7}code{font-size:13px}.bad{color:#b42318;font-weight:600}nav a{margin-right:1rem}</style>
</head><body>
<h1>Switchboard</h1>
<nav><a href="/admin/queues">Bull Board (queues, failed jobs, retry)</a><a href="/admin/knowledge">Knowledge</a><a href="/admin/conversations">Conversations</a><a href="/admin/analytics">Analytics</a><a href="/admin/overview.json">overview.json</a><a href="/metrics">metrics</a>${opts.sandbox ? '<a href="/sandbox">Sandbox</a>' : ''}</nav>
<h2>Events in the last hour</h2>
<table data-testid="channels"><tr><th>channel</th><th>in (customer messages)</th><th>out (parts sent)</th></tr>${rows(o.channels.map((c) => [c.channel, c.inLastHour, c.outLastHour]))}</table>
<h2>Accounts</h2>
<p>${o.accountsFile ? `From ACCOUNTS_FILE <code>${esc(o.accountsFile)}</code> (read at start: restart the processes to pick up changes), plus each channel's <code>default</code> account from its environment variables.` : 'ACCOUNTS_FILE is not set: each channel serves its <code>default</code> account from its environment variables.'} Events in the last hour.</p>
${o.accounts.length === 0 ? '<p>No account has events yet.</p>' : accountsTable(o.accounts)}
<h2>Queues</h2>
<table><tr><th>queue</th><th>depth</th><th>waiting</th><th>active</th><th>delayed</th><th>failed</th><th>completed (retained)</th></tr>
${o.queues.map((q) => `<tr><td>${esc(q.name)}</td><td>${q.depth}</td><td>${q.waiting}</td><td>${q.active}</td><td>${q.delayed}</td><td class="${q.failed > 0 ? 'bad' : ''}">${q.failed}</td><td>${q.completed}</td></tr>`).join('')}</table>
<h2>Conversations handed to humans (${o.humanOwned.count})</h2>
${o.humanOwned.count === 0 ? '<p>None.</p>' : `<table data-testid="human-owned"><tr><th>conversation</th><th>channel</th><th>account</th><th>reason</th><th>since</th></tr>${rows(o.humanOwned.conversations.map((c) => [c.conversationId, c.channel, c.accountId ?? DEFAULT_ACCOUNT_ID, c.reason, c.since ? new Date(c.since).toISOString() : '']))}</table>`}
<p><small>Generated ${esc(new Date(o.generatedAt).toISOString())}</small></p>
</body></html>`;
}
