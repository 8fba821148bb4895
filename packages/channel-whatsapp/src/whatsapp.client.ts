import axios, { type AxiosInstance } from 'axios';
import { keepAliveAgents } from '@switchboard/core';
import { classifyGraphError, type GraphErrorBody } from './whatsapp.errors.js';

/** Options of {@link GraphClient}. */
export interface GraphClientOptions {
  /** e.g. `https://graph.facebook.com/v24.0` (WHATSAPP_GRAPH_URL). */
  baseUrl: string;
  accessToken: string;
  timeoutMs?: number;
  /**
   * Timeout of a message send (`POST /messages`, ms; default `timeoutMs`). A send that outlasts it
   * counts as outcome unknown and is confirmed by its status webhook before any resend, so a short
   * one only trades a slow success for a reconciliation, never for a duplicate.
   */
  sendTimeoutMs?: number;
}

/** A message body for `POST /{phone-number-id}/messages`, without the common fields. */
export type GraphMessage = { type: string } & Record<string, unknown>;

/** True for a phone number (wa_id), false for a business-scoped user id such as `US.1349…`. */
function isPhone(address: string): boolean {
  return /^\+?\d{5,20}$/.test(address);
}

/**
 * The Graph API calls the gateway makes. Every failure is raised as a typed gateway error
 * (see whatsapp.errors.ts).
 */
export class GraphClient {
  private readonly http: AxiosInstance;
  private readonly sendTimeoutMs: number;

  constructor(opts: GraphClientOptions) {
    this.sendTimeoutMs = opts.sendTimeoutMs ?? opts.timeoutMs ?? 15_000;
    this.http = axios.create({
      baseURL: opts.baseUrl,
      timeout: opts.timeoutMs ?? 15_000,
      headers: { Authorization: `Bearer ${opts.accessToken}`, 'User-Agent': 'switchboard-gateway/0.1', 'Content-Type': 'application/json' },
      validateStatus: () => true,
      maxRedirects: 0,
      ...keepAliveAgents(),
    });
  }

  private async post<T>(path: string, body: unknown, timeoutMs?: number): Promise<T> {
    let res;
    try {
      res = await this.http.post<T & GraphErrorBody>(path, body, timeoutMs === undefined ? undefined : { timeout: timeoutMs });
    } catch (err) {
      throw classifyGraphError(undefined, undefined, err);
    }
    if (res.status >= 200 && res.status < 300 && !(res.data as GraphErrorBody)?.error) return res.data;
    throw classifyGraphError(res.status, res.data);
  }

  private async get<T>(path: string, params: Record<string, string>): Promise<T> {
    let res;
    try {
      res = await this.http.get<T & GraphErrorBody>(path, { params });
    } catch (err) {
      throw classifyGraphError(undefined, undefined, err);
    }
    if (res.status >= 200 && res.status < 300 && !(res.data as GraphErrorBody)?.error) return res.data;
    throw classifyGraphError(res.status, res.data);
  }

  /**
   * Every message template of a WhatsApp Business Account (`GET /{waba-id}/message_templates`),
   * following `paging.cursors.after` while the page has a `paging.next` link. Entries are returned
   * as Meta sends them (parsed by whatsapp.templates.ts). `maxPages` bounds a runaway cursor.
   */
  async listTemplates(wabaId: string, opts: { pageSize?: number; maxPages?: number } = {}): Promise<unknown[]> {
    const out: unknown[] = [];
    let after: string | undefined;
    for (let page = 0; page < (opts.maxPages ?? 100); page++) {
      const params: Record<string, string> = { fields: 'id,name,language,status,category,components,parameter_format', limit: String(opts.pageSize ?? 100) };
      if (after) params.after = after;
      const data = await this.get<{ data?: unknown[]; paging?: { cursors?: { after?: string }; next?: string } }>(`/${encodeURIComponent(wabaId)}/message_templates`, params);
      out.push(...(Array.isArray(data.data) ? data.data : []));
      const next = data.paging?.cursors?.after;
      // Meta: the last page still has cursors but no `next` link
      if (!data.paging?.next || !next || next === after) return out;
      after = next;
    }
    throw classifyGraphError(200, { error: { message: `message_templates of ${wabaId}: more than ${opts.maxPages ?? 100} pages` } });
  }

  /**
   * Sends one message to a wa_id (`to: +<digits>`) or a business-scoped user id (`recipient`).
   * Returns the wamid; 200 means accepted, not delivered.
   */
  async sendMessage(phoneNumberId: string, address: string, message: GraphMessage, opts: { callbackData?: string; contextMessageId?: string } = {}): Promise<string> {
    const body: Record<string, unknown> = { messaging_product: 'whatsapp', recipient_type: 'individual', ...message };
    if (isPhone(address)) body.to = `+${address.replace(/^\+/, '')}`;
    else body.recipient = address;
    if (opts.callbackData) body.biz_opaque_callback_data = opts.callbackData;
    if (opts.contextMessageId) body.context = { message_id: opts.contextMessageId };
    const data = await this.post<{ messages?: Array<{ id?: string }> }>(`/${encodeURIComponent(phoneNumberId)}/messages`, body, this.sendTimeoutMs);
    const id = data.messages?.[0]?.id;
    if (!id) throw classifyGraphError(200, { error: { message: 'send response without a message id' } });
    return id;
  }

  /** Marks a message (and earlier ones) read and shows the typing indicator for up to 25 s. */
  async markReadWithTyping(phoneNumberId: string, messageId: string): Promise<void> {
    await this.post(`/${encodeURIComponent(phoneNumberId)}/messages`, {
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: messageId,
      typing_indicator: { type: 'text' },
    });
  }
}
