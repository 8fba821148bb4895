import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { jobId } from '@switchboard/core';
import { detectFormat, type DocumentPosition, type KnowledgeBase, type KnowledgeDocument, type KnowledgeRepo, type SourceKind } from '@switchboard/knowledge';
import type { Producers } from '@switchboard/queue';
import { ApiError, parseOr400 as parse, withoutEmptyValues, sendApiError } from './api.js';
import type { KnowledgeDocumentView } from './responses.js';
import { addAnswerRoutes, type AnswerRoutesDeps } from './knowledge.answers.routes.js';

/**
 * The knowledge routes (mounted at `/api/v1/knowledge` behind the API keys, and at
 * `/admin/knowledge/api` behind the admin's basic auth for the console). Requests only record
 * documents and enqueue a `knowledge` job: fetching, extraction and embedding run in the workers.
 */

/** What the knowledge routes need; `kb` undefined = no store (`DATABASE_URL` unset) → 503. */
export interface KnowledgeRoutesDeps {
  kb: KnowledgeBase | undefined;
  producers: Producers;
  /** Largest upload accepted (`KNOWLEDGE_MAX_UPLOAD_BYTES`). */
  maxUploadBytes: number;
  /** Unanswered questions and answer previews (`/unanswered`, `/preview`). */
  answers: Omit<AnswerRoutesDeps, 'storeOpen'>;
}

const Account = z.string().regex(/^[a-z0-9-]{1,40}$/, 'account must match [a-z0-9-]{1,40}');
const Title = z.string().trim().min(1).max(300);
const HttpUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'url must be an absolute http(s) URL without credentials');

export const UrlBody = z
  .object({
    url: HttpUrl,
    title: Title.optional(),
    account: Account.optional(),
    /** The URL is a sitemap: every page it lists (same site) becomes part of the document. */
    sitemap: z.boolean().optional(),
    /** Follow same-site links from the page (bounded by depth and pages; robots.txt respected by the worker). */
    crawl: z.object({ maxDepth: z.number().int().min(0).max(5).optional(), maxPages: z.number().int().min(1).max(500).optional() }).strict().optional(),
  })
  .strict();
export const TextBody = z.object({ title: Title, text: z.string().min(1).max(2_000_000), account: Account.optional() }).strict();
export const SearchBody = z.object({ query: z.string().trim().min(1).max(2000), k: z.number().int().min(1).max(50).optional(), account: Account.optional() }).strict();

/** The multipart upload of `POST /documents` (the file's size limit is checked apart: 413). */
export const UploadForm = z.object({
  file: z.file({ error: 'multipart field "file" (a file) is required' }).min(1, 'the file is empty').meta({ description: 'PDF, DOCX, XLSX, CSV, HTML, Markdown or plain text (the format is read from the bytes)' }),
  title: Title.optional(),
  account: Account.optional(),
});

/** The path of one document. */
export const DocumentIdParams = z.object({ id: z.string().min(1).max(64) });

/** Documents per page of `GET /documents` without `limit`, and the most one page holds. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 500;

/** The opaque `cursor` of the document list: base64url of the last listed document's position. */
export function encodeCursor(p: DocumentPosition): string {
  return Buffer.from(JSON.stringify([p.createdAt, p.id])).toString('base64url');
}

const CursorTuple = z.tuple([z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/), z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)]);

/** The position a cursor names, or undefined when it is not one this API made. */
export function decodeCursor(cursor: string): DocumentPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  try {
    const r = CursorTuple.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return r.success ? { createdAt: r.data[0], id: r.data[1] } : undefined;
  } catch {
    return undefined;
  }
}

export const DocumentListQuery = z.object({
  account: Account.optional(),
  status: z.enum(['pending', 'ready', 'failed']).optional(),
  limit: z.string().regex(/^\d{1,4}$/, 'limit must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_PAGE)).optional(),
  cursor: z.string().optional().transform((v, ctx) => {
    if (v === undefined) return undefined;
    const p = decodeCursor(v);
    if (!p) ctx.addIssue({ code: 'custom', message: 'not a cursor of this list (use the `next` of the previous page)' });
    return p;
  }),
});

/** A document as the API shows it. */
export function documentView(d: KnowledgeDocument): KnowledgeDocumentView {
  return {
    id: d.id,
    title: d.title,
    status: d.status,
    chunks: d.chunks,
    source: d.sourceKind,
    ...(d.url ? { url: d.url } : {}),
    ...(d.filename ? { filename: d.filename } : {}),
    ...(d.account ? { account: d.account } : {}),
    ...(d.error ? { error: d.error } : {}),
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}



const FORMATS = 'PDF, DOCX, XLSX, CSV, HTML, Markdown or plain text';

/** A multipart body read by the platform's own parser (undici's `FormData`), already size-capped. */
async function readMultipart(req: Request, maxUploadBytes: number): Promise<z.output<typeof UploadForm>> {
  const body = req.body as unknown;
  if (!Buffer.isBuffer(body)) throw new ApiError(400, 'invalid_request', 'expected a multipart/form-data body');
  let form: FormData;
  try {
    form = await new globalThis.Request('http://multipart.local/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body }).formData();
  } catch {
    throw new ApiError(400, 'invalid_request', 'the multipart body could not be read');
  }
  const file = form.get('file');
  if (file && typeof file !== 'string' && file.size > maxUploadBytes) throw new ApiError(413, 'payload_too_large', `the file is larger than ${maxUploadBytes} bytes`);
  const fields: Record<string, unknown> = { file: file ?? undefined };
  for (const name of ['account', 'title']) {
    const v = form.get(name);
    if (typeof v === 'string' && v !== '') fields[name] = v;
  }
  return parse(UploadForm, fields);
}

/** The knowledge router (see the module comment for where it is mounted). */
export function knowledgeRouter(deps: KnowledgeRoutesDeps): Router {
  const r = express.Router();
  const kbOf = (): KnowledgeBase => {
    if (!deps.kb) throw new ApiError(503, 'store_unavailable', 'knowledge needs the data store: set DATABASE_URL (pnpm start provides an embedded one)');
    return deps.kb;
  };
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
  const repo = (): KnowledgeRepo => kbOf().repo;

  const create = async (doc: { title: string; sourceKind: SourceKind; account?: string | undefined; url?: string; filename?: string; mimeType?: string }, source: Parameters<KnowledgeRepo['saveSource']>[1]): Promise<string> => {
    const kr = repo();
    const id = await kr.createDocument(doc);
    try {
      await kr.saveSource(id, source);
      // the document id makes the job id: a retried request cannot enqueue twice
      await deps.producers.enqueue('knowledge', { documentId: id, reason: 'new' }, { jobId: jobId('kb', id, 'new') });
    } catch (err) {
      // nothing will ever read it: do not leave a pending document behind
      await kr.deleteDocument(id).catch(() => undefined);
      throw err;
    }
    return id;
  };

  r.post(
    '/documents',
    // checked before the body is read: no upload is buffered without a store
    (_req, _res, next) => next(deps.kb ? undefined : new ApiError(503, 'store_unavailable', 'knowledge needs the data store: set DATABASE_URL (pnpm start provides an embedded one)')),
    // multipart framing adds a little to the file itself; the file's own size is checked after parsing
    express.raw({ type: 'multipart/form-data', limit: deps.maxUploadBytes + 64 * 1024 }),
    express.json({ limit: '4mb' }),
    wrap(async (req, res) => {
      let id: string;
      if (req.is('multipart/form-data')) {
        const { file, ...fields } = await readMultipart(req, deps.maxUploadBytes);
        const account = fields.account;
        const bytes = Buffer.from(await file.arrayBuffer());
        const filename = file.name.slice(0, 255) || 'upload';
        const format = detectFormat(bytes, { mimeType: file.type, filename });
        if (!format) throw new ApiError(415, 'unsupported_format', `"${filename}" is not a format knowledge reads (${FORMATS}); the format is taken from the file's bytes, not its name`);
        const title = fields.title !== undefined ? fields.title : filename.replace(/\.[A-Za-z0-9]{1,8}$/, '') || filename;
        id = await create({ title, sourceKind: 'file', account, filename, ...(file.type ? { mimeType: file.type.slice(0, 200) } : {}) }, { body: bytes, options: { format } });
      } else if (req.is('application/json')) {
        const body = req.body as Record<string, unknown> | undefined;
        if (body && typeof body === 'object' && 'url' in body) {
          const b = parse(UrlBody, body);
          const options: Record<string, unknown> = { ...(b.sitemap ? { sitemap: true } : {}), ...(b.crawl ? { crawl: b.crawl } : {}) };
          id = await create({ title: b.title ?? b.url, sourceKind: b.sitemap ? 'sitemap' : 'url', account: b.account, url: b.url }, { options });
        } else if (body && typeof body === 'object' && 'text' in body) {
          const b = parse(TextBody, body);
          id = await create({ title: b.title, sourceKind: 'text', account: b.account }, { text: b.text });
        } else {
          throw new ApiError(400, 'invalid_request', 'expected {url} (optionally sitemap: true or crawl: {maxDepth, maxPages}), {title, text}, or a multipart upload with a "file" field');
        }
      } else {
        throw new ApiError(415, 'unsupported_format', 'send application/json ({url} or {title, text}) or multipart/form-data (a "file" field)');
      }
      res.status(202).set('Location', `${req.baseUrl}/documents/${id}`).json({ id, status: 'pending' });
    }),
  );

  r.get(
    '/documents',
    wrap(async (req, res) => {
      const q = parse(DocumentListQuery, withoutEmptyValues(req.query));
      const page = await repo().pageDocuments({ account: q.account, status: q.status, limit: q.limit ?? DEFAULT_PAGE, after: q.cursor });
      res.set('Cache-Control', 'no-store').json({ items: page.items.map(documentView), ...(page.next ? { next: encodeCursor(page.next) } : {}) });
    }),
  );

  r.get(
    '/documents/:id',
    wrap(async (req, res) => {
      const { id } = parse(DocumentIdParams, req.params);
      const doc = await repo().getDocument(id);
      if (!doc) throw new ApiError(404, 'not_found', 'no such document');
      res.set('Cache-Control', 'no-store').json(documentView(doc));
    }),
  );

  r.delete(
    '/documents/:id',
    wrap(async (req, res) => {
      const kr = repo();
      const { id } = parse(DocumentIdParams, req.params);
      if (!(await kr.deleteDocument(id))) throw new ApiError(404, 'not_found', 'no such document');
      res.status(204).end();
    }),
  );

  r.post(
    '/search',
    express.json({ limit: '64kb' }),
    wrap(async (req, res) => {
      const kb = kbOf();
      const b = parse(SearchBody, req.body);
      const hits = await kb.search(b.query, { account: b.account, k: b.k ?? 5 });
      res.set('Cache-Control', 'no-store').json({
        mode: kb.mode,
        hits: hits.map((h) => ({ documentId: h.documentId, title: h.title, heading: h.heading, text: h.text, score: h.score, ...(h.url ? { url: h.url } : {}), ...(h.similarity !== undefined ? { similarity: h.similarity } : {}) })),
      });
    }),
  );

  addAnswerRoutes(r, { ...deps.answers, storeOpen: Boolean(deps.kb) });

  r.use((req, res) => sendApiError(res, 404, 'not_found', `no route ${req.method} ${req.baseUrl}${req.path}`));
  return r;
}
