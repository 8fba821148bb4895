import { sql, type Database, type Kysely, type Transaction } from '@switchboard/store';

/**
 * Analytics computed in SQL from the record, so they are exact over any range (Prometheus counters
 * are sampled and expire). Every figure is defined on the half-open range `[from, to)` and bucketed
 * by UTC day (`YYYY-MM-DD` of the row's time in UTC).
 *
 * Rules (also the documentation of each figure):
 * - **Messages** in/out: rows of `rec_message` whose `at` is in the range (a reply sent in parts
 *   counts each part).
 * - **Conversations**: distinct conversations with at least one message (either direction) in the
 *   range. Per day: conversations with a message that day, so days do not add up to the range.
 *   A conversation that spans a boundary counts in every range (and day) where it has a message.
 * - **Engaged conversations**: conversations with at least one customer message in the range — the
 *   denominator of containment and handoff rate (a broadcast nobody answered is not a conversation
 *   the bot could resolve).
 * - **Contained**: an engaged conversation that never involved a human over its whole record (now,
 *   not only within the range): `had_human` is false, it has no `handoff` event and no message
 *   authored by a human. Containment rate = contained / engaged.
 * - **Handed off**: an engaged conversation with a `handoff` event in the range (per day: that day).
 *   Handoff rate = handed off / engaged. Handoff reasons count `handoff` events in the range by
 *   `detail.reason`.
 * - **First response**: per engaged conversation, from its first customer message in the range to
 *   the first outgoing message (bot or human, any time) at or after it. Conversations with no
 *   outgoing message since are `unanswered` and left out of the percentiles (`percentile_cont`,
 *   interpolated). Per day: samples by the day of the customer message.
 * - **LLM**: `rec_turn` rows in the range: tokens in/out, cost, turns; per day and per model
 *   (`model` null = turns that used no model: FAQ, cache, refusals…). Turn outcomes likewise.
 * - **Failed deliveries**: sent messages whose latest status (by time; a `failed` wins a tie) is
 *   `failed`, with that status in the range; by error code (null = the provider gave none).
 * - A channel or account filter applies to the conversation (statuses: their own channel/account).
 * - Rates and percentiles are null when their denominator is empty.
 */

/** What to compute analytics for. */
export interface AnalyticsQuery {
  /** Start of the range (inclusive). */
  readonly from: Date;
  /** End of the range (exclusive); after `from`. */
  readonly to: Date;
  /** Only conversations (and statuses) of this channel. */
  readonly channel?: string | undefined;
  /** Only conversations (and statuses) of this gateway account. */
  readonly account?: string | undefined;
}

/** Messages and conversations of one channel (or of everything). */
export interface TrafficFigures {
  conversations: number;
  messagesIn: number;
  messagesOut: number;
}

/** Containment and handoffs of a set of engaged conversations. */
export interface ResolutionFigures {
  /** Conversations with a customer message (the denominator). */
  engaged: number;
  /** Engaged conversations that never involved a human. */
  contained: number;
  /** Engaged conversations handed to a human in the range (per day: that day). */
  handedOff: number;
  /** contained / engaged, null when nothing was engaged. */
  containmentRate: number | null;
  /** handedOff / engaged, null when nothing was engaged. */
  handoffRate: number | null;
}

/** First-response time percentiles (milliseconds). */
export interface FirstResponseFigures {
  /** Conversations answered (samples of the percentiles). */
  answered: number;
  /** Conversations whose first customer message in the range has no outgoing message after it. */
  unanswered: number;
  p50: number | null;
  p95: number | null;
}

/** LLM usage of a set of turns. */
export interface LlmFigures {
  turns: number;
  tokensIn: number;
  tokensOut: number;
  /** Estimated cost in USD (the record's per-turn estimates, summed exactly in SQL). */
  costUsd: number;
}

/** LLM usage of one model (`null` = turns without a model). */
export interface ModelFigures extends LlmFigures {
  model: string | null;
}

/** One UTC day of the range. */
export interface DayFigures extends TrafficFigures {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  byChannel: Record<string, TrafficFigures>;
  resolution: ResolutionFigures;
  firstResponse: FirstResponseFigures;
  llm: LlmFigures & { byModel: ModelFigures[] };
}

/** Failed deliveries with one error code. */
export interface FailureFigures {
  /** The provider's error code (null: none given). */
  code: number | null;
  /** The provider's title of the most recent failure with this code. */
  title: string | null;
  count: number;
  byChannel: Record<string, number>;
}

/** Handoffs with one reason. */
export interface HandoffReasonFigures {
  reason: string;
  /** Handoff events in the range. */
  events: number;
  /** Distinct conversations they happened in. */
  conversations: number;
}

/** Everything the analytics of one range show. */
export interface AnalyticsReport {
  from: Date;
  to: Date;
  channel?: string;
  account?: string;
  totals: TrafficFigures;
  byChannel: Record<string, TrafficFigures & { resolution: ResolutionFigures }>;
  resolution: ResolutionFigures;
  handoffReasons: HandoffReasonFigures[];
  firstResponse: FirstResponseFigures;
  llm: LlmFigures & { byModel: ModelFigures[] };
  turns: { total: number; byOutcome: Record<string, number> };
  failedDeliveries: { total: number; byCode: FailureFigures[] };
  /** Every UTC day the range touches, in order (days without activity have zeros). */
  days: DayFigures[];
}

const DAY_MS = 86_400_000;
/** A `YYYY-MM-DD` key of a timestamp column in UTC. */
const dayOf = (column: string) => sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD')`;
/** The UTC date of a timestamp column (grouped as a date, printed with `to_char` at the end). */
const utcDate = (column: string) => sql<string>`(${sql.ref(column)} at time zone 'UTC')::date`;
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const rate = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);
const traffic = (): TrafficFigures => ({ conversations: 0, messagesIn: 0, messagesOut: 0 });
const resolution = (engaged = 0, contained = 0, handedOff = 0): ResolutionFigures => ({ engaged, contained, handedOff, containmentRate: rate(contained, engaged), handoffRate: rate(handedOff, engaged) });
const llm = (): LlmFigures => ({ turns: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 });

/** The UTC days `[from, to)` touches, as `YYYY-MM-DD`. */
export function utcDays(from: Date, to: Date): string[] {
  const days: string[] = [];
  const start = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let t = start; t < to.getTime(); t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** Reads analytics from the record (see the module comment for how each figure is defined). */
export class RecordAnalytics {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every figure of {@link AnalyticsReport} for `q`, computed by a handful of aggregate queries. */
  async report(q: AnalyticsQuery): Promise<AnalyticsReport> {
    if (!(q.from.getTime() < q.to.getTime())) throw new RangeError('analytics: `from` must be before `to`');
    const [traffic_, resolution_, reasons, firstResponse, llm_, outcomes, failures] = await Promise.all([
      this.traffic(q),
      this.resolution(q),
      this.handoffReasons(q),
      this.firstResponse(q),
      this.llm(q),
      this.outcomes(q),
      this.failures(q),
    ]);
    const days = new Map<string, DayFigures>(
      utcDays(q.from, q.to).map((day) => [day, { day, ...traffic(), byChannel: {}, resolution: resolution(), firstResponse: { answered: 0, unanswered: 0, p50: null, p95: null }, llm: { ...llm(), byModel: [] } }]),
    );
    const dayOfRow = (day: string): DayFigures => {
      const d = days.get(day);
      // rows come from the same range, so their day is one of the range's days
      if (!d) throw new Error(`analytics: day ${day} is outside the range`);
      return d;
    };

    const report: AnalyticsReport = {
      from: q.from,
      to: q.to,
      ...(q.channel !== undefined ? { channel: q.channel } : {}),
      ...(q.account !== undefined ? { account: q.account } : {}),
      totals: traffic(),
      byChannel: {},
      resolution: resolution(),
      handoffReasons: reasons,
      firstResponse: { answered: 0, unanswered: 0, p50: null, p95: null },
      llm: { ...llm(), byModel: [] },
      turns: { total: 0, byOutcome: outcomes },
      failedDeliveries: { total: 0, byCode: failures },
      days: [],
    };
    const channelOf = (channel: string) => (report.byChannel[channel] ??= { ...traffic(), resolution: resolution() });

    for (const r of traffic_) {
      const t: TrafficFigures = { conversations: r.conversations, messagesIn: r.messages_in, messagesOut: r.messages_out };
      if (r.channel !== null && r.day !== null) dayOfRow(r.day).byChannel[r.channel] = t;
      else if (r.channel !== null) Object.assign(channelOf(r.channel), t);
      else if (r.day !== null) Object.assign(dayOfRow(r.day), t);
      else report.totals = t;
    }
    for (const r of resolution_) {
      if (r.day !== null) dayOfRow(r.day).resolution = resolution(r.engaged, r.contained, r.handed_off);
      else if (r.channel !== null) channelOf(r.channel).resolution = resolution(r.engaged, r.contained, r.handed_off);
      else report.resolution = resolution(r.engaged, r.contained, r.handed_off);
    }
    for (const r of firstResponse) {
      const f: FirstResponseFigures = { answered: r.answered, unanswered: r.unanswered, p50: numOrNull(r.p50), p95: numOrNull(r.p95) };
      if (r.day !== null) dayOfRow(r.day).firstResponse = f;
      else report.firstResponse = f;
    }
    for (const r of llm_) {
      const f: LlmFigures = { turns: r.turns, tokensIn: num(r.tokens_in), tokensOut: num(r.tokens_out), costUsd: num(r.cost_usd) };
      // grouping(day, model): 0 = a day's model, 1 = a day, 2 = a model, 3 = everything
      if (r.g === 0) dayOfRow(r.day!).llm.byModel.push({ model: r.model, ...f });
      else if (r.g === 1) Object.assign(dayOfRow(r.day!).llm, f);
      else if (r.g === 2) report.llm.byModel.push({ model: r.model, ...f });
      else Object.assign(report.llm, f);
    }
    report.turns.total = Object.values(outcomes).reduce((a, b) => a + b, 0);
    report.failedDeliveries.total = failures.reduce((a, f) => a + f.count, 0);
    report.days = [...days.values()];
    return report;
  }

  /**
   * Runs one aggregate query with JIT compilation off (in its own transaction, `set local`): on
   * these plans PostgreSQL's cost estimate triggers JIT, whose compile time exceeds the query's.
   */
  private run<R>(query: { execute(db: Transaction<Database>): Promise<{ rows: R[] }> }): Promise<{ rows: R[] }> {
    return this.db.transaction().execute(async (trx) => {
      await sql`set local jit = off`.execute(trx);
      return query.execute(trx);
    });
  }

  /** `and c.channel = … and c.account_id = …` for the filters given. */
  private conversationFilter(q: AnalyticsQuery) {
    return sql`${q.channel !== undefined ? sql`and c.channel = ${q.channel}` : sql``} ${q.account !== undefined ? sql`and c.account_id = ${q.account}` : sql``}`;
  }

  /** Messages in/out and distinct conversations per (channel, day), channel, day and overall. */
  private async traffic(q: AnalyticsQuery) {
    // one row per (conversation, day) first: every later count is a plain count, no count(distinct)
    const { rows } = await this.run(sql<{ channel: string | null; day: string | null; conversations: number; messages_in: number; messages_out: number }>`
      with pairs as (
        select m.conversation_id, c.channel, ${utcDate('m.at')} as day,
          count(*) filter (where m.direction = 'in') as n_in,
          count(*) filter (where m.direction = 'out') as n_out
        from rec_message m join rec_conversation c on c.id = m.conversation_id
        where m.at >= ${q.from} and m.at < ${q.to} ${this.conversationFilter(q)}
        group by m.conversation_id, c.channel, day
      ), conversations as (
        select conversation_id, channel, sum(n_in) as n_in, sum(n_out) as n_out from pairs group by conversation_id, channel
      )
      select channel, to_char(day, 'YYYY-MM-DD') as day, count(*)::int as conversations, sum(n_in)::int as messages_in, sum(n_out)::int as messages_out
      from pairs group by grouping sets ((channel, day), (day))
      union all
      select channel, null, count(*)::int, coalesce(sum(n_in), 0)::int, coalesce(sum(n_out), 0)::int
      from conversations group by grouping sets ((channel), ())`);
    return rows;
  }

  /** Engaged, contained and handed-off conversations per day, channel and overall. */
  private async resolution(q: AnalyticsQuery) {
    // the flags are per conversation (computed once), the days per (conversation, day)
    const { rows } = await this.run(sql<{ channel: string | null; day: string | null; engaged: number; contained: number; handed_off: number }>`
      with engaged as (
        select distinct m.conversation_id, ${utcDate('m.at')} as day
        from rec_message m join rec_conversation c on c.id = m.conversation_id
        where m.direction = 'in' and m.author = 'customer' and m.at >= ${q.from} and m.at < ${q.to} ${this.conversationFilter(q)}
      ), handoffs as (
        select distinct h.conversation_id, ${utcDate('h.at')} as day
        from rec_event h
        where h.kind = 'handoff' and h.at >= ${q.from} and h.at < ${q.to} and h.conversation_id in (select conversation_id from engaged)
      ), flags as (
        select c.id as conversation_id, c.channel,
          (not c.had_human
            and not exists (select 1 from rec_event h where h.conversation_id = c.id and h.kind = 'handoff')
            and not exists (select 1 from rec_message hm where hm.conversation_id = c.id and hm.author = 'human')) as contained,
          c.id in (select conversation_id from handoffs) as handed_off
        from rec_conversation c
        where c.id in (select conversation_id from engaged)
      )
      select channel, null as day, count(*)::int as engaged, count(*) filter (where contained)::int as contained, count(*) filter (where handed_off)::int as handed_off
      from flags group by grouping sets ((channel), ())
      union all
      select null, to_char(e.day, 'YYYY-MM-DD'), count(*)::int, count(*) filter (where f.contained)::int, count(hd.conversation_id)::int
      from engaged e
        join flags f on f.conversation_id = e.conversation_id
        left join handoffs hd on hd.conversation_id = e.conversation_id and hd.day = e.day
      group by e.day`);
    return rows;
  }

  /** Handoff events in the range by reason, most frequent first. */
  private async handoffReasons(q: AnalyticsQuery): Promise<HandoffReasonFigures[]> {
    const { rows } = await this.run(sql<{ reason: string; events: number; conversations: number }>`
      select coalesce(nullif(e.detail->>'reason', ''), 'unspecified') as reason,
        count(*)::int as events, count(distinct e.conversation_id)::int as conversations
      from rec_event e join rec_conversation c on c.id = e.conversation_id
      where e.kind = 'handoff' and e.at >= ${q.from} and e.at < ${q.to} ${this.conversationFilter(q)}
      group by 1
      order by events desc, reason`);
    return rows;
  }

  /** First-response percentiles per day (of the customer message) and overall. */
  private async firstResponse(q: AnalyticsQuery) {
    const { rows } = await this.run(sql<{ day: string | null; answered: number; unanswered: number; p50: number | null; p95: number | null }>`
      with firsts as (
        select m.conversation_id, min(m.at) as t0
        from rec_message m join rec_conversation c on c.id = m.conversation_id
        where m.direction = 'in' and m.author = 'customer' and m.at >= ${q.from} and m.at < ${q.to} ${this.conversationFilter(q)}
        group by m.conversation_id
      ), samples as (
        select ${dayOf('f.t0')} as day,
          (extract(epoch from (
            (select min(o.at) from rec_message o where o.conversation_id = f.conversation_id and o.direction = 'out' and o.at >= f.t0) - f.t0
          )) * 1000)::float8 as ms
        from firsts f
      )
      select day, count(ms)::int as answered, (count(*) - count(ms))::int as unanswered,
        percentile_cont(0.5) within group (order by ms) as p50,
        percentile_cont(0.95) within group (order by ms) as p95
      from samples
      group by grouping sets ((day), ())`);
    return rows;
  }

  /** Turns, tokens and cost per (day, model), day, model and overall. */
  private async llm(q: AnalyticsQuery) {
    const { rows } = await this.run(sql<{ g: number; day: string | null; model: string | null; turns: number; tokens_in: string | null; tokens_out: string | null; cost_usd: string | null }>`
      select grouping(day, model)::int as g, day, model, count(*)::int as turns,
        sum(tokens_in)::text as tokens_in, sum(tokens_out)::text as tokens_out, sum(cost_usd)::text as cost_usd
      from (
        select ${dayOf('t.at')} as day, t.model, t.tokens_in, t.tokens_out, t.cost_usd
        from rec_turn t join rec_conversation c on c.id = t.conversation_id
        where t.at >= ${q.from} and t.at < ${q.to} ${this.conversationFilter(q)}
      ) x
      group by grouping sets ((day, model), (day), (model), ())
      order by day nulls last, turns desc, model nulls last`);
    return rows;
  }

  /** Turns in the range by outcome. */
  private async outcomes(q: AnalyticsQuery): Promise<Record<string, number>> {
    const { rows } = await this.run(sql<{ outcome: string; turns: number }>`
      select t.outcome, count(*)::int as turns
      from rec_turn t join rec_conversation c on c.id = t.conversation_id
      where t.at >= ${q.from} and t.at < ${q.to} ${this.conversationFilter(q)}
      group by t.outcome
      order by turns desc, t.outcome`);
    return Object.fromEntries(rows.map((r) => [r.outcome, r.turns]));
  }

  /** Messages whose latest status is a failure in the range, by error code (and channel). */
  private async failures(q: AnalyticsQuery): Promise<FailureFigures[]> {
    const filter = sql`${q.channel !== undefined ? sql`and s.channel = ${q.channel}` : sql``} ${q.account !== undefined ? sql`and s.account_id = ${q.account}` : sql``}`;
    const { rows } = await this.run(sql<{ code: number | null; channel: string; count: number; title: string | null; last_at: Date }>`
      with candidates as (
        select distinct s.channel, s.provider_message_id
        from rec_status s
        where s.status = 'failed' and s.at >= ${q.from} and s.at < ${q.to} ${filter}
      ), latest as (
        select distinct on (s.channel, s.provider_message_id) s.channel, s.status, s.error_code, s.error_title, s.at
        from rec_status s join candidates k on k.channel = s.channel and k.provider_message_id = s.provider_message_id
        order by s.channel, s.provider_message_id, s.at desc, (s.status = 'failed') desc, s.id desc
      )
      select error_code as code, channel, count(*)::int as count,
        (array_agg(error_title order by at desc))[1] as title, max(at) as last_at
      from latest
      where status = 'failed' and at >= ${q.from} and at < ${q.to}
      group by error_code, channel`);
    const byCode = new Map<number | null, FailureFigures & { lastAt: number }>();
    for (const r of rows) {
      const f = byCode.get(r.code) ?? { code: r.code, title: null, count: 0, byChannel: {}, lastAt: -Infinity };
      f.count += r.count;
      f.byChannel[r.channel] = r.count;
      if (new Date(r.last_at).getTime() > f.lastAt) {
        f.lastAt = new Date(r.last_at).getTime();
        f.title = r.title;
      }
      byCode.set(r.code, f);
    }
    return [...byCode.values()]
      .sort((a, b) => b.count - a.count || (a.code ?? Infinity) - (b.code ?? Infinity))
      .map(({ lastAt: _lastAt, ...f }) => f);
  }
}
