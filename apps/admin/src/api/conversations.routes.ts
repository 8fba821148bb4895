import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ChannelId, type Logger } from '@switchboard/core';
import { InvalidCursorError, MAX_PAGE, type ConversationDetail, type ConversationSummary, type ExportLine, type RecordReader } from '@switchboard/record';
import { ApiError, parseOr400 as parse } from './api.js';
import type { ConversationDetailView, ConversationSummaryView } from './responses.js';

/**
 * The record's routes: `GET /conversations`, `GET /conversations/:id` and `GET /export` (mounted
 * at `/api/v1` behind the API keys, and at `/admin/conversations/api` behind the admin's basic
 * auth for the console). Read-only: nothing here changes a conversation.
 */

/** What the record routes need; `record` undefined = no store (`DATABASE_URL` unset) → 503. */
export interface ConversationRoutesDeps {
  record: RecordReader | undefined;
  log: Logger;
}

/** Default range of the export when `from` is absent: the last 30 days. */
export const EXPORT_DEFAULT_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

const Account = z.string().regex(/^[a-z0-9-]{1,40}$/, 'account must match [a-z0-9-]{1,40}');
const Time = z
  .string()
  .trim()
  .refine((s) => /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date or time')
  .transform((s) => new Date(s));

export const ConversationListQuery = z
  .object({
    channel: ChannelId.optional(),
    account: Account.optional(),
    owner: z.enum(['bot', 'human']).optional(),
    q: z.string().trim().max(500).optional(),
    from: Time.optional(),
    to: Time.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
    cursor: z.string().max(1000).optional(),
  })
  .strict()
  .refine((v) => !v.from || !v.to || v.from < v.to, 'from must be before to');

export const ExportQuery = z
  .object({
    format: z.literal('jsonl', { error: 'format must be jsonl' }).optional(),
    from: Time.optional(),
    to: Time.optional(),
  })
  .strict()
  .refine((v) => !v.from || !v.to || v.from < v.to, 'from must be before to');

/** The path of one conversation. */
export const ConversationIdParams = z.object({ id: z.string().min(1).max(200) });

/** Query strings with empty values dropped (`?channel=&q=` is no filter); a repeated parameter is refused. */
function queryOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query)) {
    if (typeof v !== 'string') throw new ApiError(400, 'invalid_request', `${k}: give it once, as a plain value`);
    if (v !== '') out[k] = v;
  }
  return out;
}


/** A list item as the API shows it (the contract's fields). */
export function conversationSummaryView(c: ConversationSummary): ConversationSummaryView {
  return { id: c.id, channel: c.channel, account: c.account, customer: c.customer, lastMessageAt: c.lastMessageAt.toISOString(), messageCount: c.messageCount, owner: c.owner };
}

/** One conversation with its timeline as the API shows it. */
export function conversationDetailView(c: ConversationDetail): ConversationDetailView {
  return {
    ...conversationSummaryView(c),
    firstMessageAt: c.firstMessageAt.toISOString(),
    ...(c.handoffReason ? { handoffReason: c.handoffReason } : {}),
    hadHuman: c.hadHuman,
    messages: c.messages.map((m) => ({
      id: m.id,
      direction: m.direction,
      author: m.author,
      text: m.text,
      ...(m.mediaText ? { mediaText: m.mediaText } : {}),
      at: m.at.toISOString(),
      ...(m.status ? { status: m.status } : {}),
      ...(m.error ? { error: m.error } : {}),
      ...(m.origin ? { origin: m.origin } : {}),
      contentType: m.contentType,
      ...(m.media ? { media: m.media } : {}),
      ...(m.turnId ? { turnId: m.turnId } : {}),
    })),
    events: c.events.map((e) => ({ kind: e.kind, at: e.at.toISOString(), ...(e.reason ? { reason: e.reason } : {}), detail: e.detail })),
    turns: c.turns.map((t) => ({ ...t, at: t.at.toISOString() })),
  };
}

/** `from`/`to` of an export: both given, or the missing end filled so the range is {@link EXPORT_DEFAULT_DAYS} days ending now (or at `to`). */
export function exportRange(from: Date | undefined, to: Date | undefined, now = Date.now()): { from: Date; to: Date } {
  const end = to ?? new Date(Math.max(now, (from?.getTime() ?? 0) + 1));
  return { from: from ?? new Date(end.getTime() - EXPORT_DEFAULT_DAYS * DAY_MS), to: end };
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Resolves when the response can take more, or is gone (neither listener is left behind). */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      res.off('drain', finish);
      res.off('close', finish);
      done();
    };
    res.on('drain', finish);
    res.on('close', finish);
  });
}

/** Writes lines as they come, waiting while the client is slow; false when the client went away. */
async function streamLines(res: Response, first: ExportLine, rest: AsyncIterator<ExportLine>): Promise<boolean> {
  let next: IteratorResult<ExportLine> = { done: false, value: first };
  while (!next.done) {
    if (res.destroyed) return false;
    if (!res.write(`${JSON.stringify(next.value)}\n`)) {
      await drainedOrClosed(res);
    }
    next = await rest.next();
  }
  return true;
}

/** The record router (see the module comment for where it is mounted). */
export function conversationsRouter(deps: ConversationRoutesDeps): Router {
  const r = express.Router();
  const recordOf = (): RecordReader => {
    if (!deps.record) throw new ApiError(503, 'store_unavailable', 'the record needs the data store: set DATABASE_URL (pnpm start provides an embedded one)');
    return deps.record;
  };
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch((err: unknown) => next(err instanceof InvalidCursorError ? new ApiError(400, 'invalid_request', `cursor: ${err.message}`) : err));
  };

  r.get(
    '/conversations',
    wrap(async (req, res) => {
      const record = recordOf();
      const q = parse(ConversationListQuery, queryOf(req));
      const page = await record.listConversations(q);
      res.set('Cache-Control', 'no-store').json({ items: page.items.map(conversationSummaryView), ...(page.next ? { next: page.next } : {}) });
    }),
  );

  r.get(
    '/conversations/:id',
    wrap(async (req, res) => {
      const { id } = parse(ConversationIdParams, req.params);
      const c = await recordOf().getConversation(id);
      if (!c) throw new ApiError(404, 'not_found', 'no such conversation');
      res.set('Cache-Control', 'no-store').json(conversationDetailView(c));
    }),
  );

  r.get(
    '/export',
    wrap(async (req, res) => {
      const record = recordOf();
      const q = parse(ExportQuery, queryOf(req));
      const range = exportRange(q.from, q.to);
      const lines = record.exportMessages(range)[Symbol.asyncIterator]();
      // the first batch is read before the answer starts, so a store that is down still gets a 503
      const first = await lines.next();
      res
        .status(200)
        .set('Content-Type', 'application/x-ndjson; charset=utf-8')
        .set('Content-Disposition', `attachment; filename="switchboard-export-${day(range.from)}-${day(range.to)}.jsonl"`)
        .set('Cache-Control', 'no-store');
      try {
        const complete = first.done ? true : await streamLines(res, first.value, lines);
        if (!complete) await lines.return?.(undefined);
        res.end();
      } catch (err) {
        // the status is sent: a cut-off body (no final newline, connection reset) tells the client
        deps.log.error('export failed while streaming', { err: err instanceof Error ? err.message : String(err) });
        res.destroy();
      }
    }),
  );

  return r;
}
