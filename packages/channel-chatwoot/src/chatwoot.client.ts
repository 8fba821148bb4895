import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import {
  ConfigurationError,
  GatewayError,
  ProviderRateLimitedError,
  ProviderRejectedError,
  ProviderUnavailableError,
  keepAliveAgents,
  neverConnected,
} from '@switchboard/core';
import { z } from 'zod';
import { RestContact, RestConversation, RestMessage } from './chatwoot.wire.js';

/** Options of {@link ChatwootClient}. One client per token: the bot token and the user token allow different calls. */
export interface ChatwootClientOptions {
  readonly baseUrl: string;
  readonly accountId: number;
  readonly token: string;
  readonly timeoutMs?: number;
  /** Which token this is, for error messages and logs. */
  readonly role: 'bot' | 'user';
}

/** What the gateway sets on a contact (create and update). */
export interface ContactFields {
  name?: string;
  /** A public picture URL; Chatwoot fetches it in a background job. */
  avatar_url?: string;
  additional_attributes?: Record<string, unknown>;
  custom_attributes?: Record<string, unknown>;
}

/** Body of `POST …/conversations/{id}/messages`. */
export interface SendMessageBody {
  content: string;
  message_type?: 'outgoing' | 'incoming';
  private?: boolean;
  content_type?: 'text' | 'input_select' | 'cards' | 'form' | 'article';
  content_attributes?: Record<string, unknown>;
  source_id?: string;
  /** Post as the bot while using a user token. */
  sender_type?: 'AgentBot';
  sender_id?: number;
}

/** The HTTP status behind a failed call (404 = conversation gone, 401 = token not allowed). */
export class ChatwootHttpError extends GatewayError {
  readonly status: number;
  constructor(message: string, status: number, retryable: boolean, cause?: unknown) {
    super(message, { code: `chatwoot_http_${status}`, retryable, cause });
    this.status = status;
  }
}

/** Seconds in `Retry-After`, else a minute (Rack::Attack windows are per minute). */
function retryAfterMs(res: AxiosResponse): number {
  const header: unknown = res.headers['retry-after'];
  const secs = typeof header === 'string' ? Number(header) : NaN;
  return Number.isFinite(secs) && secs > 0 ? secs * 1000 : 60_000;
}

function errorText(data: unknown): string {
  if (data && typeof data === 'object') {
    const d = data as Record<string, unknown>;
    const msg = d['error'] ?? d['message'] ?? d['errors'];
    if (typeof msg === 'string') return msg;
    if (Array.isArray(msg)) return msg.map(String).join('; ');
  }
  return typeof data === 'string' ? data.slice(0, 200) : '';
}

/**
 * Maps a Chatwoot response to the gateway's typed errors: 429 and the per-conversation 422 "Too many
 * messages" are rate limits; 401/403 are configuration problems (wrong token, bot-forbidden endpoint);
 * 404 and other 4xx are rejections; 5xx are outages.
 */
export function chatwootError(res: AxiosResponse, what: string): GatewayError {
  const text = errorText(res.data);
  const message = `chatwoot ${what}: HTTP ${res.status}${text ? ` ${text}` : ''}`;
  const cause = new ChatwootHttpError(message, res.status, res.status === 429 || res.status >= 500);
  if (res.status === 429) return new ProviderRateLimitedError(message, { providerCode: 429, retryAfterMs: retryAfterMs(res), cause });
  if (res.status === 422 && /too many messages/i.test(text)) {
    return new ProviderRateLimitedError(message, { providerCode: 422, retryAfterMs: 60_000, scope: 'recipient', cause });
  }
  if (res.status === 401 || res.status === 403) return new ConfigurationError(message, cause);
  // a 5xx may come after the message was stored (a proxy timeout in front of Rails)
  if (res.status >= 500) return new ProviderUnavailableError(message, { providerCode: res.status, outcomeUnknown: true, cause });
  return new ProviderRejectedError(message, { providerCode: res.status, cause });
}

/** The HTTP status of an error raised by {@link ChatwootClient}, if it came from a response. */
export function chatwootStatus(err: unknown): number | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 3 && e instanceof Error; depth += 1) {
    if (e instanceof ChatwootHttpError) return e.status;
    e = e.cause;
  }
  return undefined;
}

const ContactCreated = z.looseObject({ payload: z.union([z.looseObject({ contact: RestContact }), RestContact]) });
const ContactList = z.looseObject({ payload: z.array(RestContact) });
const LabelList = z.looseObject({ payload: z.array(z.string()) });
const MessageList = z.looseObject({ payload: z.array(RestMessage) });
const ToggleStatus = z.looseObject({ payload: z.looseObject({ current_status: z.string().nullish() }).nullish() });

/**
 * Typed Chatwoot Application API client (`/api/v1/accounts/{a}/…`, header `api_access_token`).
 * No retries here: the job queues retry with backoff. Never logs tokens or content.
 * @see https://developers.chatwoot.com/api-reference
 */
export class ChatwootClient {
  private readonly http: AxiosInstance;
  readonly accountId: number;
  readonly role: 'bot' | 'user';

  constructor(opts: ChatwootClientOptions) {
    this.accountId = opts.accountId;
    this.role = opts.role;
    this.http = axios.create({
      baseURL: `${opts.baseUrl.replace(/\/+$/, '')}/api/v1/accounts/${opts.accountId}`,
      timeout: opts.timeoutMs ?? 10_000,
      headers: { api_access_token: opts.token, 'content-type': 'application/json', accept: 'application/json' },
      validateStatus: () => true,
      maxRedirects: 0,
      ...keepAliveAgents(),
    });
  }

  private async call<T>(method: 'get' | 'post' | 'patch', path: string, what: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    let res: AxiosResponse;
    try {
      res = await this.http.request({ method, url: path, ...(body === undefined ? {} : { data: body }) });
    } catch (err: unknown) {
      throw new ProviderUnavailableError(`chatwoot ${what}: ${err instanceof Error ? err.message : String(err)}`, { outcomeUnknown: !neverConnected(err), cause: err });
    }
    if (res.status < 200 || res.status >= 300) throw chatwootError(res, what);
    const parsed = schema.safeParse(res.data);
    if (!parsed.success) throw new ProviderUnavailableError(`chatwoot ${what}: unexpected response shape`, { providerCode: 'shape', cause: parsed.error });
    return parsed.data;
  }

  /** `POST /conversations/{id}/messages`: replies, private notes, rich messages, mirrored messages. */
  sendMessage(conversationId: number, body: SendMessageBody): Promise<RestMessage> {
    return this.call('post', `/conversations/${conversationId}/messages`, 'send message', RestMessage, body);
  }

  /**
   * `POST /conversations/{id}/messages` as multipart with one file in `attachments[]` (Chatwoot's
   * only way to attach media; `MAXIMUM_FILE_UPLOAD_SIZE` defaults to 40 MB).
   */
  sendAttachment(
    conversationId: number,
    msg: { content?: string; private?: boolean; file: Buffer; filename: string; contentType: string },
  ): Promise<RestMessage> {
    return this.sendAttachments(conversationId, {
      ...(msg.content ? { content: msg.content } : {}),
      private: msg.private ?? false,
      files: [{ bytes: msg.file, filename: msg.filename, contentType: msg.contentType }],
    });
  }

  /**
   * `POST /conversations/{id}/messages` as multipart: the message fields plus each file as one
   * `attachments[]` part (at most 15 per message, each within `MAXIMUM_FILE_UPLOAD_SIZE`).
   */
  async sendAttachments(
    conversationId: number,
    msg: Pick<SendMessageBody, 'message_type' | 'private' | 'source_id'> & { content?: string; files: ReadonlyArray<{ bytes: Buffer; filename: string; contentType: string }> },
  ): Promise<RestMessage> {
    const form = new FormData();
    if (msg.content) form.append('content', msg.content);
    form.append('message_type', msg.message_type ?? 'outgoing');
    form.append('private', String(msg.private ?? false));
    if (msg.source_id) form.append('source_id', msg.source_id);
    for (const f of msg.files) form.append('attachments[]', new Blob([f.bytes], { type: f.contentType }), f.filename);
    // serialise with the platform's multipart encoder, then send the bytes with their boundary
    const encoded = new Response(form);
    const body = Buffer.from(await encoded.arrayBuffer());
    const contentType = encoded.headers.get('content-type') ?? 'multipart/form-data';
    let res: AxiosResponse;
    try {
      res = await this.http.post(`/conversations/${conversationId}/messages`, body, { headers: { 'content-type': contentType }, maxBodyLength: Infinity, maxContentLength: 50 * 1024 * 1024 });
    } catch (err: unknown) {
      throw new ProviderUnavailableError(`chatwoot send attachment: ${err instanceof Error ? err.message : String(err)}`, { outcomeUnknown: !neverConnected(err), cause: err });
    }
    if (res.status < 200 || res.status >= 300) throw chatwootError(res, 'send attachment');
    const parsed = RestMessage.safeParse(res.data);
    if (!parsed.success) throw new ProviderUnavailableError('chatwoot send attachment: unexpected response shape', { providerCode: 'shape', cause: parsed.error });
    return parsed.data;
  }

  /** `GET /conversations/{id}/messages` (latest 20, or `after` a message id). Not allowed for bot tokens. */
  async listMessages(conversationId: number, after?: number): Promise<RestMessage[]> {
    const q = after === undefined ? '' : `?after=${after}`;
    return (await this.call('get', `/conversations/${conversationId}/messages${q}`, 'list messages', MessageList)).payload;
  }

  /** `PATCH /conversations/{cid}/messages/{mid}`: delivery status of an API-inbox message (4.2.0+, user token). */
  async updateMessageStatus(conversationId: number, messageId: number, status: 'delivered' | 'read' | 'failed', externalError?: string): Promise<void> {
    await this.call('patch', `/conversations/${conversationId}/messages/${messageId}`, 'update message status', z.unknown(), {
      status,
      ...(externalError ? { external_error: externalError } : {}),
    });
  }

  /** `POST /conversations/{id}/toggle_status`; with the bot token, `open` runs Chatwoot's `bot_handoff!`. */
  async toggleStatus(conversationId: number, status: 'open' | 'pending' | 'resolved' | 'snoozed'): Promise<string | undefined> {
    const res = await this.call('post', `/conversations/${conversationId}/toggle_status`, 'toggle status', ToggleStatus, { status });
    return res.payload?.current_status ?? undefined;
  }

  /** `POST /conversations/{id}/toggle_typing_status` (bots since 4.12.0). */
  async toggleTyping(conversationId: number, typing: 'on' | 'off'): Promise<void> {
    await this.call('post', `/conversations/${conversationId}/toggle_typing_status`, 'toggle typing', z.unknown(), { typing_status: typing });
  }

  /** `GET /conversations/{id}` (bots since 4.14.2): current status and assignee. */
  getConversation(conversationId: number): Promise<RestConversation> {
    return this.call('get', `/conversations/${conversationId}`, 'show conversation', RestConversation);
  }

  /** `POST /conversations/{id}/assignments`: `{assignee_id}` (null unassigns), `{team_id}`. */
  async assign(conversationId: number, body: { assignee_id?: number | null; assignee_type?: 'AgentBot'; team_id?: number }): Promise<void> {
    await this.call('post', `/conversations/${conversationId}/assignments`, 'assign', z.unknown(), body);
  }

  /** `POST /contacts` with `inbox_id` + `source_id`, which also creates the contact_inbox (user token). `avatar_url` is downloaded by Chatwoot itself. */
  async createContact(body: ContactFields & { inbox_id: number; phone_number?: string; identifier: string; source_id: string }): Promise<RestContact> {
    const res = await this.call('post', '/contacts', 'create contact', ContactCreated, body);
    const p = res.payload;
    return 'contact' in p && p.contact && typeof p.contact === 'object' ? (p.contact as RestContact) : (p as RestContact);
  }

  /** `PATCH /contacts/{id}`: Chatwoot merges `custom_attributes` (and `additional_attributes`) into the stored ones. */
  async updateContact(contactId: number, body: ContactFields): Promise<void> {
    await this.call('patch', `/contacts/${contactId}`, 'update contact', z.unknown(), body);
  }

  /** `GET /conversations/{id}/labels`. */
  async listLabels(conversationId: number): Promise<string[]> {
    return (await this.call('get', `/conversations/${conversationId}/labels`, 'list labels', LabelList)).payload;
  }

  /** `POST /conversations/{id}/labels`: REPLACES the conversation's whole label list (read, merge, then write). */
  async setLabels(conversationId: number, labels: readonly string[]): Promise<void> {
    await this.call('post', `/conversations/${conversationId}/labels`, 'set labels', z.unknown(), { labels });
  }

  /** `POST /conversations/{id}/custom_attributes`: REPLACES the whole bag (read it with {@link getConversation}, merge, then write). */
  async setCustomAttributes(conversationId: number, attributes: Record<string, unknown>): Promise<void> {
    await this.call('post', `/conversations/${conversationId}/custom_attributes`, 'set custom attributes', z.unknown(), { custom_attributes: attributes });
  }

  /** `POST /contacts/filter` on `identifier equal_to` (identifiers are unique per account). */
  async findContactByIdentifier(identifier: string): Promise<RestContact | undefined> {
    const res = await this.call('post', '/contacts/filter', 'filter contacts', ContactList, {
      payload: [{ attribute_key: 'identifier', filter_operator: 'equal_to', values: [identifier], query_operator: null }],
    });
    return res.payload.find((c) => c.identifier === identifier);
  }

  /** `GET /contacts/search?q=` (name, email, phone, identifier). */
  async searchContacts(q: string): Promise<RestContact[]> {
    return (await this.call('get', `/contacts/search?q=${encodeURIComponent(q)}`, 'search contacts', ContactList)).payload;
  }

  /** `POST /conversations`; always with the contact_inbox `source_id` (Evolution #2578). */
  createConversation(body: { source_id: string; inbox_id: number; contact_id: number; status?: 'open' | 'pending'; additional_attributes?: Record<string, unknown> }): Promise<RestConversation> {
    return this.call('post', '/conversations', 'create conversation', RestConversation, body);
  }
}
