import { randomBytes } from 'node:crypto';
import express from 'express';
import { startOnLoopback, type FakeServer, type RecordedRequest } from './http-fake.js';

/** A scripted failure: HTTP status and Graph error body. */
export interface GraphFailure {
  status: number;
  body: unknown;
  /** Only fail sends to this recipient (`to` or `recipient`). */
  recipient?: string;
}

/** Graph error body as Meta sends it. */
export function graphError(code: number, message = `(#${code}) error`, status = 400): GraphFailure {
  return {
    status,
    body: { error: { message, type: 'OAuthException', code, error_data: { messaging_product: 'whatsapp', details: message }, fbtrace_id: 'Afake' + code } },
  };
}

/** A sent message as the fake recorded it. */
export interface SentMessage {
  phoneNumberId: string;
  wamid: string;
  to?: string;
  recipient?: string;
  type: string;
  body: Record<string, unknown>;
  authorization?: string;
}

/** The fake Graph API. */
export interface FakeGraph extends FakeServer {
  /** Messages accepted by `POST /{pnid}/messages` (not read receipts). */
  sent: SentMessage[];
  /** Read receipts / typing indicators. */
  reads: Array<{ phoneNumberId: string; messageId: string; typing: boolean }>;
  /** The next `n` sends fail with `failure`. */
  failNext(n: number, failure: GraphFailure): void;
  /** The `n`-th message send from now (1 = the next one) fails with `failure`. */
  failAttempt(n: number, failure: GraphFailure): void;
  /** Message send attempts received (including failed ones). */
  attempts(): number;
  /**
   * The next `n` sends are performed (recorded in `sent`, `onSent` called) but their response is
   * lost: the connection is closed without an answer, as when a response times out on the way back.
   */
  loseResponses(n: number): void;
  /** Adds latency to every send (ms). */
  setDelay(ms: number): void;
  /**
   * Message templates served at `GET /{waba-id}/message_templates` (entries as Meta sends them),
   * by WABA id; pages of `limit` (default 25) with `paging.cursors.after` and `paging.next`.
   */
  templates: Map<string, unknown[]>;
  /** Template list requests received (one per page). */
  templateRequests(): number;
  /** Text bodies sent to one recipient, in order. */
  textsTo(address: string): string[];
  reset(): void;
}

/** Starts a fake WhatsApp Cloud API (Graph) server on loopback, base URL like `http://127.0.0.1:PORT/v24.0`. */
export async function startFakeGraph(
  opts: {
    version?: string;
    /** Forward requests the fake does not serve (media lookups and downloads) to this base URL. */
    proxyUnknownTo?: string;
    /** Called for every accepted send (e.g. to post its `sent` status webhook like Meta does). */
    onSent?: (msg: SentMessage) => void;
  } = {},
): Promise<FakeGraph> {
  const version = opts.version ?? 'v24.0';
  const requests: RecordedRequest[] = [];
  const sent: SentMessage[] = [];
  const reads: FakeGraph['reads'] = [];
  let failures: GraphFailure[] = [];
  let delayMs = 0;
  let attemptCount = 0;
  let lostResponses = 0;
  const failAtAttempt = new Map<number, GraphFailure>();
  const templates = new Map<string, unknown[]>();
  let templateRequestCount = 0;
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  // media uploads (`POST /{pnid}/media`) are multipart: kept raw for the proxy
  app.use(express.raw({ type: 'multipart/form-data', limit: '120mb' }));
  app.use((req, _res, next) => {
    requests.push({ method: req.method, path: req.path, query: { ...req.query }, headers: { ...req.headers }, body: req.body, at: Date.now() });
    next();
  });
  app.post(`/${version}/:pnid/messages`, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (!String(req.headers.authorization ?? '').startsWith('Bearer ')) {
      res.status(401).json(graphError(190, 'Invalid OAuth access token', 401).body);
      return;
    }
    if (body.status === 'read') {
      reads.push({ phoneNumberId: req.params.pnid, messageId: String(body.message_id), typing: Boolean(body.typing_indicator) });
      res.json({ success: true });
      return;
    }
    const target = (body.to as string | undefined) ?? (body.recipient as string | undefined);
    attemptCount += 1;
    const planned = failAtAttempt.get(attemptCount);
    if (planned) {
      failAtAttempt.delete(attemptCount);
      res.status(planned.status).json(planned.body);
      return;
    }
    const idx = failures.findIndex((f) => !f.recipient || f.recipient === target || `+${f.recipient}` === target);
    if (idx >= 0) {
      const [failure] = failures.splice(idx, 1);
      res.status(failure!.status).json(failure!.body);
      return;
    }
    if (body.messaging_product !== 'whatsapp' || typeof body.type !== 'string' || !target) {
      res.status(400).json(graphError(100, '(#100) Invalid parameter').body);
      return;
    }
    const wamid = `wamid.FAKE${randomBytes(12).toString('hex')}`;
    const msg: SentMessage = { phoneNumberId: req.params.pnid, wamid, type: body.type, body };
    if (typeof body.to === 'string') msg.to = body.to;
    if (typeof body.recipient === 'string') msg.recipient = body.recipient;
    if (typeof req.headers.authorization === 'string') msg.authorization = req.headers.authorization;
    sent.push(msg);
    opts.onSent?.(msg);
    if (lostResponses > 0) {
      lostResponses -= 1;
      req.socket.destroy();
      return;
    }
    res.json({ messaging_product: 'whatsapp', contacts: [{ input: target, wa_id: String(target).replace(/^\+/, '') }], messages: [{ id: wamid }] });
  });
  app.get(`/${version}/:waba/message_templates`, (req, res) => {
    templateRequestCount += 1;
    if (!String(req.headers.authorization ?? '').startsWith('Bearer ')) {
      res.status(401).json(graphError(190, 'Invalid OAuth access token', 401).body);
      return;
    }
    const all = templates.get(req.params.waba);
    if (!all) {
      res.status(400).json(graphError(100, `(#100) Unsupported get request. Object with ID '${req.params.waba}' does not exist`).body);
      return;
    }
    const limit = Math.max(1, Math.min(1000, Number(req.query.limit) || 25));
    // cursors are opaque to clients; here the base64 of the offset
    const after = typeof req.query.after === 'string' ? Number(Buffer.from(req.query.after, 'base64').toString('utf8')) : 0;
    const start = Number.isFinite(after) && after > 0 ? after : 0;
    const data = all.slice(start, start + limit);
    const cursor = (n: number) => Buffer.from(String(n)).toString('base64');
    const paging: Record<string, unknown> = { cursors: { before: cursor(start), after: cursor(start + data.length) } };
    if (start + limit < all.length) {
      const q = new URLSearchParams({ limit: String(limit), after: cursor(start + data.length) });
      paging.next = `${req.protocol}://${req.get('host')}/${version}/${req.params.waba}/message_templates?${q.toString()}`;
    }
    res.json({ data, paging });
  });
  app.use(async (req, res) => {
    if (opts.proxyUnknownTo) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      const upstream = await fetch(`${opts.proxyUnknownTo}${req.originalUrl}`, {
        method: req.method,
        headers,
        // media uploads (multipart) pass through byte for byte
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body ?? {}) }),
        redirect: 'manual',
      });
      res.status(upstream.status);
      upstream.headers.forEach((value, key) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(key)) res.setHeader(key, value);
      });
      res.send(Buffer.from(await upstream.arrayBuffer()));
      return;
    }
    res.status(404).json(graphError(100, `Unknown path components: ${req.path}`, 404).body);
  });
  const { url, close } = await startOnLoopback(app);
  return {
    url: `${url}/${version}`,
    requests,
    sent,
    reads,
    templates,
    templateRequests() {
      return templateRequestCount;
    },
    failNext(n, failure) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    failAttempt(n, failure) {
      failAtAttempt.set(attemptCount + n, failure);
    },
    attempts() {
      return attemptCount;
    },
    loseResponses(n) {
      lostResponses += n;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    textsTo(address) {
      const plus = `+${address.replace(/^\+/, '')}`;
      return sent.filter((m) => m.to === plus || m.recipient === address).map((m) => {
        const b = m.body as { text?: { body?: string }; interactive?: { body?: { text?: string } } };
        return b.text?.body ?? b.interactive?.body?.text ?? `[${m.type}]`;
      });
    },
    reset() {
      requests.length = 0;
      sent.length = 0;
      reads.length = 0;
      failures = [];
      delayMs = 0;
      lostResponses = 0;
      templateRequestCount = 0;
    },
    close,
  };
}
