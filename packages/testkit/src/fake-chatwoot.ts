import { createHmac } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { startOnLoopback, type FakeServer, type RecordedRequest } from './http-fake.js';

/** The Chatwoot fixtures' signing secret, timestamp and published signatures (fixtures/chatwoot/README.md). */
export const CHATWOOT_FIXTURE_SECRET = 'test_chatwoot_secret_do_not_use';
export const CHATWOOT_FIXTURE_TIMESTAMP = '1778494300';
export const CHATWOOT_FIXTURE_SIGNATURES: Record<string, string> = {
  'conversation_status_changed.open.json': 'sha256=edae40aff21b3ae4b411f7d33d139cbc170b6c7fe5616c9176d3524697e894b8',
  'message_created.incoming_contact_with_image.json': 'sha256=0a3a0c862d4e28064b8f9373e03a2c4832a6250a6121b415d420e7ec8c2b2910',
  'message_created.outgoing_agent_bot_IGNORE.json': 'sha256=edcccf8b0796b7a74f6129b3306583f87616e9ff034c7b8236499b53e0ba14e7',
  'message_created.outgoing_human_agent_api_inbox.json': 'sha256=cce68f616c13f68676093f343f641c47fe239379ceef5a828b6bc631c2485d74',
};

/** Signs a body like Chatwoot does: headers `X-Chatwoot-Timestamp` / `X-Chatwoot-Signature` over `"{ts}.{body}"`. */
export function signChatwoot(body: Buffer | string, secret: string, timestampSec = Math.floor(Date.now() / 1000)): Record<string, string> {
  const ts = String(timestampSec);
  const sig = createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex');
  return { 'x-chatwoot-timestamp': ts, 'x-chatwoot-signature': `sha256=${sig}` };
}

/** A message as the fake Chatwoot stored it (REST form: integer `message_type`). */
export interface FakeChatwootMessage {
  id: number;
  conversationId: number;
  content: string | null;
  message_type: number;
  private: boolean;
  content_type: string;
  content_attributes: Record<string, unknown>;
  source_id: string | null;
  sender_type?: string;
  sender_id?: number;
  status: string;
  external_error?: string;
  /** Which token posted it: `bot`, `user`. */
  token: 'bot' | 'user';
  /** Files posted as multipart `attachments[]`. */
  attachments?: FakeChatwootAttachment[];
  created_at: number;
}

/** A file attached to a message. */
export interface FakeChatwootAttachment {
  field: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
  /** What Chatwoot derives from the content type: `image`, `audio`, `video` or `file`. */
  fileType: 'image' | 'audio' | 'video' | 'file';
}

/** An attachment as webhooks carry it (chatwoot.md §4.1), for {@link FakeChatwoot.addBlob}. */
export interface FakeChatwootWireAttachment {
  id: number;
  file_type: 'image' | 'audio' | 'video' | 'file';
  account_id: number;
  extension: string | null;
  content_type: string;
  data_url: string;
  thumb_url: string;
  file_size: number;
  width: null;
  height: null;
}

/** Chatwoot's `file_type` of an uploaded file (Attachment#file_type by content type). */
export function chatwootFileType(contentType: string): FakeChatwootAttachment['fileType'] {
  const t = contentType.toLowerCase();
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('audio/')) return 'audio';
  if (t.startsWith('video/')) return 'video';
  return 'file';
}

/** A conversation of the fake (status and assignee are scriptable). */
export interface FakeChatwootConversation {
  id: number;
  inbox_id: number;
  contact_id: number;
  source_id: string;
  status: 'open' | 'pending' | 'resolved' | 'snoozed';
  assignee: { id: number; type: 'user' | 'agent_bot' } | null;
  typing: Array<'on' | 'off'>;
  /** Conversation labels (`POST …/labels` replaces the list). */
  labels: string[];
  /** Conversation custom attributes (`POST …/custom_attributes` replaces the bag). */
  custom_attributes: Record<string, unknown>;
}

export interface FakeChatwootContact {
  id: number;
  name: string | null;
  identifier: string | null;
  phone_number: string | null;
  email: string | null;
  additional_attributes: Record<string, unknown>;
  custom_attributes: Record<string, unknown>;
  /** The last `avatar_url` given (Chatwoot downloads it in a job and shows it as the thumbnail). */
  avatar_url: string | null;
  contact_inboxes: Array<{ inbox_id: number; source_id: string }>;
}

/** A scripted failure for the next matching request. */
export interface FakeChatwootFailure {
  /** e.g. `POST` */
  method?: string;
  /** Substring or pattern of the path after `/api/v1/accounts/{a}`, e.g. `/messages`. */
  path?: string | RegExp;
  status: number;
  body?: unknown;
  /** Retry-After header (seconds) for 429. */
  retryAfter?: number;
  /** Perform the request, then close the connection without an answer (`status` is ignored). */
  loseResponse?: boolean;
}

/** The fake Chatwoot Application API. */
export interface FakeChatwoot extends FakeServer {
  readonly accountId: number;
  readonly botToken: string;
  readonly userToken: string;
  /** This instance's webhook signing secret (agent bot and API inbox). */
  readonly webhookSecret: string;
  /** Signature headers of a webhook body as this instance sends it ({@link signChatwoot} with its secret). */
  signWebhook(body: Buffer | string): Record<string, string>;
  messages: FakeChatwootMessage[];
  conversations: Map<number, FakeChatwootConversation>;
  contacts: FakeChatwootContact[];
  /** Seeds a conversation (e.g. a Chatwoot-native widget conversation the bot answers). */
  addConversation(c: Partial<FakeChatwootConversation> & { id: number }): FakeChatwootConversation;
  /** Changes a conversation's status and/or assignee (a human taking over in the UI). */
  setConversation(id: number, patch: Partial<Pick<FakeChatwootConversation, 'status' | 'assignee'>>): void;
  /** Messages of one conversation, in order. */
  messagesIn(conversationId: number): FakeChatwootMessage[];
  /**
   * Stores a file as ActiveStorage does and returns its webhook attachment: `data_url` is a
   * `/rails/active_storage/blobs/redirect/…` URL answering 302 to the blob (on this fake, or on
   * `blobOrigin`, e.g. a fake S3), which serves the bytes without any token.
   */
  addBlob(file: { bytes: Buffer; contentType: string; filename: string; blobOrigin?: string }): FakeChatwootWireAttachment;
  /** The next request matching `failure` fails `times` times. */
  failNext(failure: FakeChatwootFailure, times?: number): void;
  /** Latency for every request (ms). */
  setDelay(ms: number): void;
  reset(): void;
}

function objectOf(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

const REST_TYPE: Record<string, number> = { incoming: 0, outgoing: 1, activity: 2, template: 3 };

/**
 * Starts a fake Chatwoot on 127.0.0.1 (random port) that speaks the wire format of Chatwoot 4.15:
 * `api_access_token` auth with the bot-token allowlist (bots may not touch contacts, list messages or
 * patch message status), messages, toggle_status (with `bot_handoff!` semantics: only the bot token
 * moves pending → open without self-assignment), toggle_typing_status, conversation show, assignments,
 * contacts create/filter/search/update (PATCH merges both attribute bags; `avatar_url` is kept
 * as the thumbnail), conversations create, conversation labels (GET; POST replaces the list) and
 * custom attributes (POST replaces the bag), message status PATCH. Records every request.
 * @see docs/channels/chatwoot.md
 */
export async function startFakeChatwoot(opts: { accountId?: number; botToken?: string; userToken?: string; webhookSecret?: string } = {}): Promise<FakeChatwoot> {
  const accountId = opts.accountId ?? 7;
  const botToken = opts.botToken ?? 'fake-bot-token';
  const userToken = opts.userToken ?? 'fake-user-token';
  const webhookSecret = opts.webhookSecret ?? CHATWOOT_FIXTURE_SECRET;
  const requests: RecordedRequest[] = [];
  const messages: FakeChatwootMessage[] = [];
  const conversations = new Map<number, FakeChatwootConversation>();
  const contacts: FakeChatwootContact[] = [];
  let failures: Array<FakeChatwootFailure & { times: number }> = [];
  let delayMs = 0;
  let nextMessageId = 900_000;
  let nextContactId = 5000;
  let nextConversationId = 1000;

  const app = express();
  app.use(express.json({ limit: '5mb' }));
  // message attachments come as multipart (attachments[]), parsed below with the platform's parser
  app.use(express.raw({ type: 'multipart/form-data', limit: '50mb' }));
  app.use(async (req, res, next) => {
    requests.push({ method: req.method, path: req.path, query: { ...req.query }, headers: { ...req.headers }, body: req.body, at: Date.now() });
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const sub = req.path.replace(/^\/api\/v1\/accounts\/\d+/, '');
    const idx = failures.findIndex(
      (f) => (!f.method || f.method.toUpperCase() === req.method) && (!f.path || (typeof f.path === 'string' ? sub.includes(f.path) : f.path.test(sub))),
    );
    if (idx >= 0) {
      const f = failures[idx]!;
      f.times -= 1;
      if (f.times <= 0) failures.splice(idx, 1);
      if (f.loseResponse) {
        res.json = () => {
          req.socket.destroy();
          return res;
        };
        next();
        return;
      }
      if (f.retryAfter !== undefined) res.set('Retry-After', String(f.retryAfter));
      res.status(f.status).json(f.body ?? { error: `scripted ${f.status}` });
      return;
    }
    next();
  });

  const base = `/api/v1/accounts/:account`;
  type Who = 'bot' | 'user';

  /** Authenticates; `botAllowed` mirrors Chatwoot's AccessTokenAuthHelper allowlist. */
  function auth(req: Request, res: Response, botAllowed: boolean): Who | undefined {
    if (Number(req.params['account']) !== accountId) {
      res.status(404).json({ error: 'Resource could not be found' });
      return undefined;
    }
    const token = req.get('api_access_token') ?? req.get('api-access-token');
    const who: Who | undefined = token === botToken ? 'bot' : token === userToken ? 'user' : undefined;
    if (!who) {
      res.status(401).json({ error: 'Invalid Access Token' });
      return undefined;
    }
    if (who === 'bot' && !botAllowed) {
      res.status(401).json({ error: 'Access to this endpoint is not authorized for bots' });
      return undefined;
    }
    return who;
  }

  function conversation(req: Request, res: Response): FakeChatwootConversation | undefined {
    const c = conversations.get(Number(req.params['id']));
    if (!c) res.status(404).json({ error: 'Resource could not be found' });
    return c;
  }

  function conversationJson(c: FakeChatwootConversation) {
    const contact = contacts.find((x) => x.id === c.contact_id);
    const assignee = c.assignee ? { id: c.assignee.id, name: c.assignee.type === 'user' ? 'Agent' : 'Bot', type: c.assignee.type } : null;
    return {
      id: c.id,
      account_id: accountId,
      inbox_id: c.inbox_id,
      status: c.status,
      contact_inbox: { contact_id: c.contact_id, inbox_id: c.inbox_id, source_id: c.source_id },
      meta: {
        sender: contact ? { id: contact.id, name: contact.name, identifier: contact.identifier, phone_number: contact.phone_number, type: 'contact' } : { id: c.contact_id, type: 'contact' },
        assignee,
        assignee_type: c.assignee ? (c.assignee.type === 'user' ? 'User' : 'AgentBot') : null,
        team: null,
      },
      labels: [...c.labels],
      custom_attributes: { ...c.custom_attributes },
      messages: [],
      timestamp: Math.floor(Date.now() / 1000),
    };
  }

  function contactJson(c: FakeChatwootContact) {
    return { id: c.id, name: c.name, identifier: c.identifier, phone_number: c.phone_number, email: c.email, thumbnail: c.avatar_url ?? '', additional_attributes: c.additional_attributes, custom_attributes: c.custom_attributes, contact_inboxes: c.contact_inboxes };
  }

  function messageJson(m: FakeChatwootMessage) {
    const { token: _token, conversationId, attachments, ...rest } = m;
    return {
      ...rest,
      conversation_id: conversationId,
      ...(attachments?.length
        ? { attachments: attachments.map((a, i) => ({ id: m.id * 100 + i, message_id: m.id, file_type: a.fileType, account_id: accountId, extension: a.filename.split('.').pop() ?? null, content_type: a.contentType, file_size: a.bytes.length })) }
        : {}),
    };
  }

  const blobs = new Map<string, { bytes: Buffer; contentType: string; filename: string; origin?: string }>();
  let nextBlob = 1;
  app.get('/rails/active_storage/blobs/redirect/:signed/:filename', (req, res) => {
    const blob = blobs.get(String(req.params['signed']));
    if (!blob) {
      res.status(404).end();
      return;
    }
    const origin = blob.origin ?? '';
    res.redirect(302, `${origin}/rails/active_storage/disk/${String(req.params['signed'])}/${encodeURIComponent(blob.filename)}`);
  });
  app.get('/rails/active_storage/disk/:signed/:filename', (req, res) => {
    const blob = blobs.get(String(req.params['signed']));
    if (!blob) {
      res.status(404).end();
      return;
    }
    res.set('content-type', blob.contentType).set('content-disposition', `attachment; filename="${blob.filename}"`).send(blob.bytes);
  });

  app.post(`${base}/conversations/:id/messages`, async (req, res) => {
    const who = auth(req, res, true);
    if (!who) return;
    const c = conversation(req, res);
    if (!c) return;
    let b = (req.body ?? {}) as Record<string, unknown>;
    const attachments: FakeChatwootAttachment[] = [];
    if (Buffer.isBuffer(req.body)) {
      const form = await new Response(req.body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
      b = {};
      for (const [key, value] of form.entries()) {
        if (typeof value === 'string') b[key] = key === 'private' ? value === 'true' : value;
        else attachments.push({ field: key, filename: value.name, contentType: value.type, bytes: Buffer.from(await value.arrayBuffer()), fileType: chatwootFileType(value.type) });
      }
      if (attachments.length > 0 && b['content'] === undefined) b['content'] = '';
    }
    const type = typeof b['message_type'] === 'string' ? b['message_type'] : 'outgoing';
    if (REST_TYPE[type] === undefined) {
      res.status(422).json({ error: 'message_type is invalid' });
      return;
    }
    if (typeof b['content'] !== 'string' || (b['content'].length === 0 && attachments.length === 0) || b['content'].length > 150_000) {
      res.status(422).json({ error: 'content is invalid' });
      return;
    }
    const m: FakeChatwootMessage = {
      id: nextMessageId++,
      conversationId: c.id,
      content: b['content'],
      message_type: REST_TYPE[type],
      private: b['private'] === true,
      content_type: typeof b['content_type'] === 'string' ? b['content_type'] : 'text',
      content_attributes: (b['content_attributes'] as Record<string, unknown>) ?? {},
      source_id: typeof b['source_id'] === 'string' ? b['source_id'] : null,
      ...(typeof b['sender_type'] === 'string' ? { sender_type: b['sender_type'] } : {}),
      ...(typeof b['sender_id'] === 'number' ? { sender_id: b['sender_id'] } : {}),
      status: 'sent',
      token: who,
      created_at: Math.floor(Date.now() / 1000),
      attachments,
    };
    messages.push(m);
    // like Chatwoot: a customer message reopens a resolved conversation (pending when a bot is attached)
    if (m.message_type === 0 && c.status === 'resolved') c.status = 'open';
    res.json(messageJson(m));
  });

  app.get(`${base}/conversations/:id/messages`, (req, res) => {
    if (!auth(req, res, false)) return;
    const c = conversation(req, res);
    if (!c) return;
    const all = messages.filter((m) => m.conversationId === c.id);
    const after = Number(req.query['after']);
    const page = Number.isFinite(after) ? all.filter((m) => m.id > after).slice(0, 100) : all.slice(-20);
    res.json({ meta: {}, payload: page.map(messageJson) });
  });

  app.patch(`${base}/conversations/:id/messages/:mid`, (req, res) => {
    if (!auth(req, res, false)) return;
    const c = conversation(req, res);
    if (!c) return;
    const m = messages.find((x) => x.id === Number(req.params['mid']) && x.conversationId === c.id);
    if (!m) {
      res.status(404).json({ error: 'Resource could not be found' });
      return;
    }
    const b = (req.body ?? {}) as Record<string, unknown>;
    const status = b['status'];
    if (status !== 'delivered' && status !== 'read' && status !== 'failed') {
      res.status(422).json({ error: 'status is invalid' });
      return;
    }
    if (m.status === 'read' && status === 'delivered') {
      res.status(422).json({ error: 'cannot downgrade' });
      return;
    }
    m.status = status;
    if (typeof b['external_error'] === 'string') m.external_error = b['external_error'];
    res.json(messageJson(m));
  });

  app.post(`${base}/conversations/:id/toggle_status`, (req, res) => {
    const who = auth(req, res, true);
    if (!who) return;
    const c = conversation(req, res);
    if (!c) return;
    const status = (req.body as Record<string, unknown> | undefined)?.['status'];
    if (status !== undefined && !['open', 'pending', 'resolved', 'snoozed'].includes(String(status))) {
      res.status(422).json({ error: 'status is invalid' });
      return;
    }
    c.status = (status as FakeChatwootConversation['status'] | undefined) ?? (c.status === 'open' ? 'resolved' : 'open');
    res.json({ meta: {}, payload: { success: null, conversation_id: c.id, current_status: c.status } });
  });

  app.post(`${base}/conversations/:id/toggle_typing_status`, (req, res) => {
    if (!auth(req, res, true)) return;
    const c = conversation(req, res);
    if (!c) return;
    const t = (req.body as Record<string, unknown> | undefined)?.['typing_status'];
    if (t !== 'on' && t !== 'off') {
      res.status(422).json({ error: 'typing_status is invalid' });
      return;
    }
    c.typing.push(t);
    res.status(200).json({});
  });

  app.get(`${base}/conversations/:id`, (req, res) => {
    if (!auth(req, res, true)) return;
    const c = conversation(req, res);
    if (!c) return;
    res.json(conversationJson(c));
  });

  app.post(`${base}/conversations/:id/assignments`, (req, res) => {
    if (!auth(req, res, true)) return;
    const c = conversation(req, res);
    if (!c) return;
    const b = (req.body ?? {}) as Record<string, unknown>;
    if ('assignee_id' in b) {
      const id = b['assignee_id'];
      c.assignee = typeof id === 'number' ? { id, type: b['assignee_type'] === 'AgentBot' ? 'agent_bot' : 'user' } : null;
    }
    res.json(c.assignee ? { id: c.assignee.id } : {});
  });

  app.post(`${base}/conversations`, (req, res) => {
    if (!auth(req, res, true)) return;
    const b = (req.body ?? {}) as Record<string, unknown>;
    const contactId = Number(b['contact_id']);
    const inboxId = Number(b['inbox_id']);
    const sourceId = typeof b['source_id'] === 'string' ? b['source_id'] : '';
    const contact = contacts.find((x) => x.id === contactId);
    if (!contact || !Number.isInteger(inboxId) || !sourceId) {
      res.status(422).json({ error: 'contact_id, inbox_id and source_id are required' });
      return;
    }
    if (!contact.contact_inboxes.some((ci) => ci.inbox_id === inboxId && ci.source_id === sourceId)) contact.contact_inboxes.push({ inbox_id: inboxId, source_id: sourceId });
    const c: FakeChatwootConversation = { id: nextConversationId++, inbox_id: inboxId, contact_id: contactId, source_id: sourceId, status: 'open', assignee: null, typing: [], labels: [], custom_attributes: objectOf(b['custom_attributes']) };
    conversations.set(c.id, c);
    res.json(conversationJson(c));
  });

  app.post(`${base}/contacts`, (req, res) => {
    if (!auth(req, res, false)) return;
    const b = (req.body ?? {}) as Record<string, unknown>;
    const identifier = typeof b['identifier'] === 'string' ? b['identifier'] : null;
    const phone = typeof b['phone_number'] === 'string' ? b['phone_number'] : null;
    if (identifier && contacts.some((c) => c.identifier === identifier)) {
      res.status(422).json({ message: 'Identifier has already been taken', attributes: ['identifier'] });
      return;
    }
    if (phone && (!/^\+[1-9]\d{1,14}$/.test(phone) || contacts.some((c) => c.phone_number === phone))) {
      res.status(422).json({ message: 'Phone number should be in e164 format or has already been taken', attributes: ['phone_number'] });
      return;
    }
    const contact: FakeChatwootContact = {
      id: nextContactId++,
      name: typeof b['name'] === 'string' ? b['name'] : null,
      identifier,
      phone_number: phone,
      email: typeof b['email'] === 'string' ? b['email'] : null,
      additional_attributes: objectOf(b['additional_attributes']),
      custom_attributes: objectOf(b['custom_attributes']),
      avatar_url: typeof b['avatar_url'] === 'string' ? b['avatar_url'] : null,
      contact_inboxes: [],
    };
    const inboxId = Number(b['inbox_id']);
    const sourceId = typeof b['source_id'] === 'string' ? b['source_id'] : `uuid-${contact.id}`;
    if (Number.isInteger(inboxId)) contact.contact_inboxes.push({ inbox_id: inboxId, source_id: sourceId });
    contacts.push(contact);
    res.json({ payload: { contact: contactJson(contact), contact_inbox: { inbox: { id: inboxId }, source_id: sourceId } } });
  });

  app.patch(`${base}/contacts/:id`, (req, res) => {
    if (!auth(req, res, false)) return;
    const contact = contacts.find((x) => x.id === Number(req.params['id']));
    if (!contact) {
      res.status(404).json({ error: 'Resource could not be found' });
      return;
    }
    const b = (req.body ?? {}) as Record<string, unknown>;
    const identifier = typeof b['identifier'] === 'string' ? b['identifier'] : undefined;
    if (identifier !== undefined && contacts.some((c) => c !== contact && c.identifier === identifier)) {
      res.status(422).json({ message: 'Identifier has already been taken', attributes: ['identifier'] });
      return;
    }
    if (typeof b['name'] === 'string') contact.name = b['name'];
    if (identifier !== undefined) contact.identifier = identifier;
    if (typeof b['avatar_url'] === 'string') contact.avatar_url = b['avatar_url'];
    // like Chatwoot's ContactsController#update: both attribute bags are merged into the stored ones
    contact.custom_attributes = { ...contact.custom_attributes, ...objectOf(b['custom_attributes']) };
    contact.additional_attributes = { ...contact.additional_attributes, ...objectOf(b['additional_attributes']) };
    res.json({ payload: contactJson(contact) });
  });

  app.get(`${base}/conversations/:id/labels`, (req, res) => {
    if (!auth(req, res, true)) return;
    const c = conversation(req, res);
    if (!c) return;
    res.json({ payload: [...c.labels] });
  });

  app.post(`${base}/conversations/:id/labels`, (req, res) => {
    if (!auth(req, res, true)) return;
    const c = conversation(req, res);
    if (!c) return;
    const labels = (req.body as Record<string, unknown> | undefined)?.['labels'];
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
      res.status(422).json({ error: 'labels must be a list' });
      return;
    }
    // label titles are letters, digits, `-` and `_` (Chatwoot's Label model); the list REPLACES the old one
    if (!labels.every((l) => /^[\p{L}\p{N}_-]+$/u.test(l))) {
      res.status(422).json({ error: 'label title is invalid' });
      return;
    }
    c.labels = [...new Set(labels.map((l) => l.toLowerCase()))];
    res.json({ payload: [...c.labels] });
  });

  app.post(`${base}/conversations/:id/custom_attributes`, (req, res) => {
    if (!auth(req, res, true)) return;
    const c = conversation(req, res);
    if (!c) return;
    const attrs = (req.body as Record<string, unknown> | undefined)?.['custom_attributes'];
    if (!attrs || typeof attrs !== 'object' || Array.isArray(attrs)) {
      res.status(422).json({ error: 'custom_attributes must be an object' });
      return;
    }
    // REPLACES the whole bag (Chatwoot: conversation.update!(custom_attributes: …))
    c.custom_attributes = { ...(attrs as Record<string, unknown>) };
    res.json({ custom_attributes: c.custom_attributes });
  });

  app.post(`${base}/contacts/filter`, (req, res) => {
    if (!auth(req, res, false)) return;
    const filters = ((req.body as Record<string, unknown> | undefined)?.['payload'] ?? []) as Array<Record<string, unknown>>;
    const found = contacts.filter((c) =>
      filters.every((f) => {
        const key = String(f['attribute_key']);
        const values = ((f['values'] as unknown[]) ?? []).map(String);
        const value = key === 'identifier' ? c.identifier : key === 'phone_number' ? c.phone_number : key === 'email' ? c.email : key === 'name' ? c.name : null;
        return f['filter_operator'] === 'equal_to' ? value !== null && values.includes(value) : false;
      }),
    );
    res.json({ meta: { count: found.length }, payload: found.map(contactJson) });
  });

  app.get(`${base}/contacts/search`, (req, res) => {
    if (!auth(req, res, false)) return;
    const q = String(req.query['q'] ?? '').toLowerCase();
    const found = contacts.filter((c) => [c.name, c.identifier, c.phone_number, c.email].some((v) => v !== null && v.toLowerCase().includes(q)));
    res.json({ meta: { count: found.length }, payload: found.map(contactJson) });
  });

  app.use((req, res) => {
    res.status(404).json({ error: `fake chatwoot: no route ${req.method} ${req.path}` });
  });

  const server = await startOnLoopback(app);
  return {
    url: server.url,
    accountId,
    botToken,
    userToken,
    webhookSecret,
    signWebhook: (body) => signChatwoot(body, webhookSecret),
    requests,
    messages,
    conversations,
    contacts,
    addConversation(c) {
      const conv: FakeChatwootConversation = { inbox_id: 1, contact_id: 1, source_id: `src-${c.id}`, status: 'pending', assignee: null, typing: [], labels: [], custom_attributes: {}, ...c };
      conversations.set(conv.id, conv);
      return conv;
    },
    setConversation(id, patch) {
      const c = conversations.get(id);
      if (!c) throw new Error(`fake chatwoot: no conversation ${id}`);
      Object.assign(c, patch);
    },
    messagesIn: (conversationId) => messages.filter((m) => m.conversationId === conversationId),
    addBlob({ bytes, contentType, filename, blobOrigin }) {
      const signed = `eyJfcmFpbHMiOnsiZGF0YSI6${nextBlob}--fake`;
      const id = nextBlob++;
      blobs.set(signed, { bytes, contentType, filename, ...(blobOrigin ? { origin: blobOrigin } : {}) });
      const dataUrl = `${server.url}/rails/active_storage/blobs/redirect/${signed}/${encodeURIComponent(filename)}`;
      return { id, file_type: chatwootFileType(contentType), account_id: accountId, extension: filename.includes('.') ? (filename.split('.').pop() ?? null) : null, content_type: contentType, data_url: dataUrl, thumb_url: '', file_size: bytes.length, width: null, height: null };
    },
    failNext(failure, times = 1) {
      failures.push({ ...failure, times });
    },
    setDelay(ms) {
      delayMs = ms;
    },
    reset() {
      requests.length = 0;
      messages.length = 0;
      contacts.length = 0;
      conversations.clear();
      failures = [];
      delayMs = 0;
    },
    close: server.close,
  };
}
