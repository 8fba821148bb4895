import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ChannelId } from '@switchboard/core';
import type { AnalyticsReport, RecordAnalytics, ResolutionFigures } from '@switchboard/record';
import { ApiError, parseOr400, withoutEmptyValues } from './api.js';

/**
 * `GET /api/v1/analytics` (behind the API keys) and the same at `/admin/analytics/api/analytics`
 * (behind the admin's basic auth, for the console): figures of the record over `[from, to)`,
 * computed in SQL (see `@switchboard/record`'s `record.analytics.ts` for each definition).
 */

/** What the analytics routes need; `analytics` undefined = no store (`DATABASE_URL` unset) → 503. */
export interface AnalyticsRoutesDeps {
  analytics: RecordAnalytics | undefined;
  /** The current time (tests pin it). */
  now?: () => number;
}

const DAY_MS = 86_400_000;
/** Default range when `from` is absent: this many days before `to`. */
export const DEFAULT_RANGE_DAYS = 30;
/** Longest range served (its per-day series has one entry a day). */
export const MAX_RANGE_DAYS = 3660;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * An ISO 8601 bound: a date-time with its offset (`2026-11-02T10:00:00Z`, `…+08:00`), or a date
 * (`2026-11-02`, a UTC day: as `from` its start, as `to` its end, so the day is included).
 */
export function parseBound(value: string, end: 'from' | 'to'): Date | undefined {
  if (DATE_ONLY.test(value)) {
    const d = new Date(`${value}T00:00:00.000Z`);
    // `2026-02-30` would roll over into March: not a date
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) return undefined;
    return end === 'to' ? new Date(d.getTime() + DAY_MS) : d;
  }
  if (!DATE_TIME.test(value)) return undefined;
  const [date] = value.split(/T/i);
  const d = new Date(value);
  if (Number.isNaN(d.getTime()) || new Date(`${date}T00:00:00.000Z`).toISOString().slice(0, 10) !== date) return undefined;
  return d;
}

const BOUND_FORMAT = 'expected an ISO 8601 date (2026-11-02) or date-time with offset (2026-11-02T10:00:00Z)';

export const AnalyticsQuery = z
  .object({
    from: z.string().max(40).refine((v) => parseBound(v, 'from') !== undefined, BOUND_FORMAT).optional().meta({ description: 'start (included); default: 30 days before `to`' }),
    to: z.string().max(40).refine((v) => parseBound(v, 'to') !== undefined, BOUND_FORMAT).optional().meta({ description: 'end (excluded; a date means the end of that UTC day); default: now' }),
    channel: ChannelId.optional(),
    account: z.string().regex(/^[a-z0-9-]{1,40}$/, 'account must match [a-z0-9-]{1,40}').optional(),
  })
  .strict();

/** The range and filters of a request (400 on anything malformed). */
export function analyticsQuery(raw: unknown, now: number): { from: Date; to: Date; channel?: string; account?: string } {
  const q = parseOr400(AnalyticsQuery, withoutEmptyValues((raw ?? {}) as Record<string, unknown>));
  const to = q.to !== undefined ? parseBound(q.to, 'to') : new Date(now);
  if (!to) throw new ApiError(400, 'invalid_request', `to: ${BOUND_FORMAT}`);
  const from = q.from !== undefined ? parseBound(q.from, 'from') : new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
  if (!from) throw new ApiError(400, 'invalid_request', `from: ${BOUND_FORMAT}`);
  if (from.getTime() >= to.getTime()) throw new ApiError(400, 'invalid_request', '`from` must be before `to`');
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) throw new ApiError(400, 'invalid_request', `the range may span at most ${MAX_RANGE_DAYS} days`);
  return { from, to, ...(q.channel ? { channel: q.channel } : {}), ...(q.account ? { account: q.account } : {}) };
}

/** Milliseconds rounded to the microsecond (percentile interpolation leaves float noise). */
const ms = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);
const rates = (r: ResolutionFigures) => ({ engaged: r.engaged, contained: r.contained, handedOff: r.handedOff, containmentRate: r.containmentRate, handoffRate: r.handoffRate });

/**
 * The API's view of a report: exactly the contract's fields (`from`, `to`, `byChannel`,
 * `containmentRate`, `handoffRate`, `firstResponseMs`, `llm`) plus detail fields the console draws.
 */
export function analyticsView(r: AnalyticsReport): Record<string, unknown> {
  return {
    from: r.from.toISOString(),
    to: r.to.toISOString(),
    byChannel: Object.fromEntries(Object.entries(r.byChannel).map(([ch, c]) => [ch, { conversations: c.conversations, messagesIn: c.messagesIn, messagesOut: c.messagesOut }])),
    containmentRate: r.resolution.containmentRate,
    handoffRate: r.resolution.handoffRate,
    firstResponseMs: { p50: ms(r.firstResponse.p50), p95: ms(r.firstResponse.p95) },
    llm: { tokensIn: r.llm.tokensIn, tokensOut: r.llm.tokensOut, costUsd: r.llm.costUsd },
    // detail beyond the contract
    ...(r.channel !== undefined ? { channel: r.channel } : {}),
    ...(r.account !== undefined ? { account: r.account } : {}),
    timeZone: 'UTC',
    totals: r.totals,
    resolution: rates(r.resolution),
    resolutionByChannel: Object.fromEntries(Object.entries(r.byChannel).map(([ch, c]) => [ch, rates(c.resolution)])),
    handoffReasons: r.handoffReasons,
    firstResponse: { answered: r.firstResponse.answered, unanswered: r.firstResponse.unanswered },
    llmByModel: r.llm.byModel,
    turns: r.turns,
    failedDeliveries: r.failedDeliveries,
    days: r.days.map((d) => ({
      day: d.day,
      conversations: d.conversations,
      messagesIn: d.messagesIn,
      messagesOut: d.messagesOut,
      byChannel: d.byChannel,
      ...rates(d.resolution),
      firstResponseMs: { p50: ms(d.firstResponse.p50), p95: ms(d.firstResponse.p95), answered: d.firstResponse.answered, unanswered: d.firstResponse.unanswered },
      llm: { turns: d.llm.turns, tokensIn: d.llm.tokensIn, tokensOut: d.llm.tokensOut, costUsd: d.llm.costUsd, byModel: d.llm.byModel },
    })),
  };
}

/** The analytics router (see the module comment for where it is mounted). */
export function analyticsRouter(deps: AnalyticsRoutesDeps): Router {
  const r = express.Router();
  r.get('/analytics', (req: Request, res: Response, next: NextFunction) => {
    const run = async () => {
      const q = analyticsQuery(req.query, (deps.now ?? Date.now)());
      if (!deps.analytics) throw new ApiError(503, 'store_unavailable', 'analytics need the data store: set DATABASE_URL (pnpm start provides an embedded one)');
      res.set('Cache-Control', 'no-store').json(analyticsView(await deps.analytics.report(q)));
    };
    run().catch(next);
  });
  return r;
}
