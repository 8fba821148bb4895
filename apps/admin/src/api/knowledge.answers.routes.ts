import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AgentOutput, UnansweredQuestion, UnansweredQuestions } from '@switchboard/agent';
import { ChannelId, conversationId, shortHash, type ConversationRef, type InboundMessage } from '@switchboard/core';
import { ApiError, parseOr400 as parse, withoutEmptyValues } from './api.js';
import type { PreviewAgents } from './preview-agents.js';
import type { UnansweredQuestionView } from './responses.js';

/**
 * The knowledge routes about answers: questions the knowledge base could not answer (suggestions
 * for new knowledge) and the answer the agent would give to a test question.
 */

/** What the answer routes need. */
export interface AnswerRoutesDeps {
  /** Questions strict grounding recorded (Redis). */
  unanswered: UnansweredQuestions;
  /** The agents of the previews; undefined = previews are not served (503). */
  agents: PreviewAgents | undefined;
  /** The gateway accounts whose questions `GET /unanswered` without `account` lists. */
  accounts: () => string[];
  /** Whether the store is open (a preview answers from the knowledge base, so it needs one). */
  storeOpen: boolean;
}

const Account = z.string().regex(/^[a-z0-9-]{1,40}$/, 'account must match [a-z0-9-]{1,40}');
export const UnansweredQuery = z.object({
  account: Account.optional(),
  limit: z.string().regex(/^\d{1,4}$/, 'limit must be a whole number').transform(Number).pipe(z.number().int().min(1).max(1000)).optional(),
});
/** An unanswered question's API id: `<account>.<question id>`. */
const QuestionRef = /^([a-z0-9-]{1,40})\.([0-9a-f]{16})$/;
/** The path of one unanswered question; an id that is not one this API makes is a 404. */
export const QuestionIdParams = z.object({ id: z.string().regex(QuestionRef).meta({ description: '`<account>.<question id>` as listed' }) });
export const PreviewBody = z.object({ question: z.string().trim().min(1).max(2000), account: Account.optional(), channel: ChannelId.optional() }).strict();


/** An unanswered question as the API shows it. */
export function unansweredView(q: UnansweredQuestion): UnansweredQuestionView {
  return {
    id: `${q.account}.${q.id}`,
    account: q.account,
    question: q.question,
    count: q.count,
    firstAskedAt: new Date(q.firstAskedAt).toISOString(),
    lastAskedAt: new Date(q.lastAskedAt).toISOString(),
    ...(q.channel ? { channel: q.channel } : {}),
  };
}

/** A preview's answer as the API shows it. */
function previewView(out: AgentOutput): Record<string, unknown> {
  return {
    source: out.source,
    reply: out.reply ? { text: out.reply.text, ...(out.reply.options?.length ? { options: out.reply.options } : {}), ...(out.reply.media?.length ? { media: out.reply.media.length } : {}) } : null,
    citations: out.citations ?? [],
    ...(out.handoff ? { handoff: out.handoff } : {}),
    ...(out.usage ? { model: out.usage.model } : {}),
    ...(out.toolCalls?.length ? { tools: out.toolCalls.map((t) => t.name) } : {}),
  };
}

/** Adds `/unanswered` and `/preview` to the knowledge router `r`. */
export function addAnswerRoutes(r: Router, deps: AnswerRoutesDeps): void {
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };

  r.get(
    '/unanswered',
    wrap(async (req, res) => {
      const q = parse(UnansweredQuery, withoutEmptyValues(req.query));
      const limit = q.limit ?? 200;
      const accounts = q.account ? [q.account] : deps.accounts();
      const lists = await Promise.all(accounts.map((a) => deps.unanswered.list(a, limit)));
      const items = lists
        .flat()
        .sort((a, b) => b.lastAskedAt - a.lastAskedAt)
        .slice(0, limit);
      res.set('Cache-Control', 'no-store').json({ items: items.map(unansweredView) });
    }),
  );

  r.delete(
    '/unanswered/:id',
    wrap(async (req, res) => {
      const p = QuestionIdParams.safeParse(req.params);
      const m = p.success ? QuestionRef.exec(p.data.id) : null;
      if (!m) throw new ApiError(404, 'not_found', 'no such question');
      if (!(await deps.unanswered.dismiss(m[1]!, m[2]!))) throw new ApiError(404, 'not_found', 'no such question');
      res.status(204).end();
    }),
  );

  r.post(
    '/preview',
    express.json({ limit: '16kb' }),
    wrap(async (req, res) => {
      if (!deps.storeOpen) throw new ApiError(503, 'store_unavailable', 'knowledge needs the data store: set DATABASE_URL (pnpm start provides an embedded one)');
      if (!deps.agents) throw new ApiError(503, 'unavailable', 'answer previews are not served by this admin app');
      const b = parse(PreviewBody, req.body);
      const account = b.account ?? 'default';
      let resolved;
      try {
        resolved = deps.agents.resolve(account, b.channel);
      } catch (err) {
        throw new ApiError(503, 'unavailable', `the agent configuration of account "${account}" cannot be read: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
      const now = Date.now();
      const ref: ConversationRef = { channel: resolved.channel, account: 'console-preview', userId: 'console-preview', ...(account !== 'default' ? { accountId: account } : {}) };
      const eventId = `preview-${shortHash(`${now}|${b.question}`, 16)}`;
      const message: InboundMessage = { kind: 'message', eventId, providerMessageId: eventId, conversation: ref, sentAt: now, receivedAt: now, content: { type: 'text', text: b.question }, author: 'customer' };
      const out = await resolved.agent.preview({ conversationId: conversationId(ref), ref, messages: [message], now });
      res.set('Cache-Control', 'no-store').json({ account, channel: resolved.channel, agent: resolved.agent.online ? 'online' : 'offline', ...previewView(out) });
    }),
  );
}
