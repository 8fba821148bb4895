import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { conversationId } from '@switchboard/core';
import { safeEqual } from '../auth.js';
import type { SandboxMedia, SandboxStore } from './store.js';

/** A message the fake Graph API accepted (what the workers sent to a sandbox customer). */
export interface GraphSend {
  phoneNumberId: string;
  wamid: string;
  to: string;
  conversationId: string;
  text: string;
  media?: SandboxMedia;
  /** `biz_opaque_callback_data` as the gateway set it: `<outboundId>#<part>`. */
  callbackData?: string;
}

/** Options of {@link createFakeGraphRouter}. */
export interface FakeGraphOptions {
  store: SandboxStore;
  /** The bearer token the workers must present (WHATSAPP_ACCESS_TOKEN). */
  accessToken: string;
  /** Called after a send was accepted (the sandbox posts status webhooks back to the ingress). */
  onSent?: (send: GraphSend) => void;
}

/** A Graph error body as Meta sends it. */
export function graphErrorBody(code: number, message: string, type = 'OAuthException'): Record<string, unknown> {
  return { error: { message, type, code, error_data: { messaging_product: 'whatsapp', details: message }, fbtrace_id: `Asandbox${code}` } };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** What a customer's phone would show for a Graph message body. */
export function describeGraphMessage(body: Obj): { text: string; media?: SandboxMedia } {
  const type = str(body['type']) ?? 'unknown';
  switch (type) {
    case 'text':
      return { text: str(obj(body['text'])['body']) ?? '' };
    case 'interactive': {
      const i = obj(body['interactive']);
      const text = str(obj(i['body'])['text']) ?? '';
      const buttons = (obj(i['action'])['buttons'] as unknown[] | undefined)?.map((b) => str(obj(obj(b)['reply'])['title'])).filter(Boolean) ?? [];
      const rows = ((obj(i['action'])['sections'] as unknown[] | undefined) ?? []).flatMap((s) => ((obj(s)['rows'] as unknown[] | undefined) ?? []).map((r) => str(obj(r)['title'])));
      const options = [...buttons, ...rows.filter(Boolean)];
      return { text: options.length ? `${text}\n${options.map((o) => `[ ${o} ]`).join(' ')}` : text };
    }
    case 'template': {
      const t = obj(body['template']);
      return { text: `(template ${str(t['name']) ?? '?'} / ${str(obj(t['language'])['code']) ?? '?'})` };
    }
    case 'image':
    case 'audio':
    case 'video':
    case 'document':
    case 'sticker': {
      const m = obj(body[type]);
      const media: SandboxMedia = { kind: type };
      const link = str(m['link']);
      if (link) media.url = link;
      const filename = str(m['filename']);
      if (filename) media.filename = filename;
      return { text: str(m['caption']) ?? '', media };
    }
    default:
      return { text: `[${type}]` };
  }
}

/**
 * A WhatsApp Cloud API (Graph) compatible fake, mounted at `/sandbox/graph` so that
 * `WHATSAPP_GRAPH_URL=http://host:3000/sandbox/graph/v24.0` works unchanged:
 * `POST /{version}/{phone-number-id}/messages` (sends, read receipts + typing),
 * `GET /{version}/{media-id}` (media URL lookup) and `GET /media/{id}` (the download, bearer required).
 * Same wire format as the testkit fake; it exists here because production code must not import testkit.
 */
export function createFakeGraphRouter(opts: FakeGraphOptions): Router {
  const router = express.Router();
  router.use(express.json({ limit: '5mb' }));

  const authorized = (req: Request, res: Response): boolean => {
    const header = String(req.headers.authorization ?? '');
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (token && safeEqual(token, opts.accessToken)) return true;
    res.status(401).json(graphErrorBody(190, 'Invalid OAuth access token - Cannot parse access token'));
    return false;
  };

  router.get('/media/:mediaId', (req, res) => {
    if (!authorized(req, res)) return;
    const m = opts.store.getMedia(req.params.mediaId);
    if (!m) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    res.set('Content-Type', m.mimeType).set('Content-Length', String(m.bytes.length)).send(m.bytes);
  });

  router.post('/:version/:pnid/messages', (req, res) => {
    if (!authorized(req, res)) return;
    const body = obj(req.body);
    const pnid = req.params.pnid;
    if (body['status'] === 'read') {
      const id = str(body['message_id']);
      if (id) opts.store.markRead(id, Date.now());
      res.json({ success: true });
      return;
    }
    const to = str(body['to']) ?? str(body['recipient']);
    if (body['messaging_product'] !== 'whatsapp' || typeof body['type'] !== 'string' || !to) {
      res.status(400).json(graphErrorBody(100, '(#100) Invalid parameter'));
      return;
    }
    const wamid = `wamid.SBX${randomBytes(12).toString('hex')}`;
    const userId = to.replace(/^\+/, '');
    const convId = conversationId({ channel: 'whatsapp', account: pnid, userId });
    const shown = describeGraphMessage(body);
    const callbackData = str(body['biz_opaque_callback_data']);
    const outboundId = callbackData?.split('#')[0];
    const now = Date.now();
    if (!opts.store.deliverHuman(convId, outboundId, wamid, now)) {
      opts.store.add(convId, 'whatsapp', {
        author: 'bot',
        text: shown.text,
        ...(shown.media ? { media: shown.media } : {}),
        at: now,
        deliveredAt: now,
        providerMessageId: wamid,
        ...(outboundId ? { outboundId } : {}),
      });
    }
    res.json({ messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: userId }], messages: [{ id: wamid }] });
    opts.onSent?.({ phoneNumberId: pnid, wamid, to: userId, conversationId: convId, text: shown.text, ...(shown.media ? { media: shown.media } : {}), ...(callbackData ? { callbackData } : {}) });
  });

  router.get('/:version/:mediaId', (req, res) => {
    if (!authorized(req, res)) return;
    const m = opts.store.getMedia(req.params.mediaId);
    if (!m) {
      res.status(400).json(graphErrorBody(100, `Unsupported get request. Object with ID '${req.params.mediaId}' does not exist`, 'GraphMethodException'));
      return;
    }
    // the real URL is on lookaside.fbsbx.com and also needs the bearer token
    const base = `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
    res.json({ messaging_product: 'whatsapp', url: `${base}/media/${m.id}`, mime_type: m.mimeType, sha256: m.sha256, file_size: m.bytes.length, id: m.id });
  });

  router.use((req, res) => {
    res.status(404).json(graphErrorBody(100, `Unknown path components: ${req.path}`));
  });
  return router;
}
