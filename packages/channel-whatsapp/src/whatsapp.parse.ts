import {
  jobId,
  shortHash,
  type ConversationRef,
  type DeliveryStatus,
  type InboundEvent,
  type MediaRef,
  type MessageContent,
  type Referral,
} from '@switchboard/core';
import { WaChange, WaChangeValue, WaMessage, WaMessageEcho, WaStatus, WaUserPreferencesValue, WaWebhook, type WaContact } from './whatsapp.wire.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined);

/** WhatsApp timestamps are strings of Unix seconds. */
function toMs(ts: unknown, fallback: number): number {
  const n = num(ts);
  // a timestamp that is not a real time (negative, overflowing) is the receive time
  return n === undefined || !Number.isFinite(n * 1000) || n < 0 ? fallback : n * 1000;
}

function media(body: unknown): MediaRef {
  const b = obj(body);
  const out: MediaRef = {};
  const id = str(b.id);
  if (id) out.mediaId = id;
  const url = str(b.url);
  if (url) out.url = url;
  const mime = str(b.mime_type);
  if (mime) out.mimeType = mime;
  const sha = str(b.sha256);
  if (sha) out.sha256 = sha;
  const size = num(b.file_size);
  if (size !== undefined) out.sizeBytes = size;
  const filename = str(b.filename);
  if (filename) out.filename = filename;
  const caption = str(b.caption);
  if (caption) out.caption = caption;
  return out;
}

function errorReason(m: Obj): string {
  const errs = Array.isArray(m.errors) ? m.errors.map((e) => obj(e)) : [];
  return errs.map((e) => `${str(e.code) ?? '?'} ${str(e.title) ?? str(e.message) ?? ''}`.trim()).join('; ');
}

/**
 * Provider types that are system noise rather than something the customer wrote: never answered,
 * never given the "can't read that" notice. `revoke` = the customer deleted a message
 * (Meta: webhooks/reference/messages/revoke); `request_welcome` = a chat opened for the first time.
 */
export const NOISE_TYPES: ReadonlySet<string> = new Set(['revoke', 'request_welcome', 'reaction']);

/** Normalizes one message body by `type`; unknown or malformed bodies become `unsupported`. */
export function parseContent(m: Obj): MessageContent {
  const type = str(m.type) ?? 'unknown';
  const body = obj(m[type]);
  // Meta sends messages it could not render with `errors` and no body (`unknown`, an `interactive`
  // without its object, 131051/131060): there is nothing to read
  if (Array.isArray(m.errors) && m.errors.length > 0 && (m[type] === undefined || m[type] === null)) {
    return { type: 'unsupported', providerType: type, reason: errorReason(m) || 'sent without content' };
  }
  switch (type) {
    case 'text':
      return { type: 'text', text: str(body.body) ?? '' };
    case 'image':
      return { type: 'image', media: media(body) };
    case 'video':
      return { type: 'video', media: media(body) };
    case 'document':
      return { type: 'document', media: media(body) };
    case 'audio':
      return { type: 'audio', media: media(body), voice: body.voice === true };
    case 'sticker':
      return { type: 'sticker', media: media(body), animated: body.animated === true };
    case 'location': {
      const latitude = num(body.latitude);
      const longitude = num(body.longitude);
      if (latitude === undefined || longitude === undefined) return { type: 'unsupported', providerType: type, reason: 'location without coordinates' };
      const loc: MessageContent = { type: 'location', latitude, longitude };
      const name = str(body.name);
      if (name) loc.name = name;
      const address = str(body.address);
      if (address) loc.address = address;
      const url = str(body.url);
      if (url) loc.url = url;
      return loc;
    }
    case 'contacts': {
      const list = Array.isArray(m.contacts) ? m.contacts : [];
      return {
        type: 'contacts',
        contacts: list.map((c) => {
          const co = obj(c);
          const name = obj(co.name);
          const phones = Array.isArray(co.phones) ? co.phones.map((p) => obj(p)) : [];
          const firstWaId = phones.map((p) => str(p.wa_id)).find(Boolean);
          const entry: { name: string; phones: string[]; userId?: string } = {
            name: str(name.formatted_name) ?? ([str(name.first_name), str(name.last_name)].filter(Boolean).join(' ') || 'unknown'),
            phones: phones.map((p) => str(p.phone) ?? str(p.wa_id)).filter((p): p is string => Boolean(p)),
          };
          if (firstWaId) entry.userId = firstWaId;
          return entry;
        }),
      };
    }
    case 'interactive': {
      const kind = str(body.type);
      if (kind === 'button_reply' || kind === 'list_reply') {
        const r = obj(body[kind]);
        const out: MessageContent = { type: 'interactive', interaction: kind, title: str(r.title) ?? '' };
        const id = str(r.id);
        if (id) out.id = id;
        const description = str(r.description);
        if (description) out.description = description;
        return out;
      }
      if (kind === 'nfm_reply') {
        // WhatsApp Flows / address message: the submitted fields are a JSON string in response_json
        const r = obj(body.nfm_reply);
        const raw = str(r.response_json);
        let response: unknown = raw;
        if (raw !== undefined) {
          try {
            response = JSON.parse(raw);
          } catch {
            // keep the raw string: a malformed flow reply is still the customer's answer
          }
        }
        const out: MessageContent = { type: 'interactive', interaction: 'nfm_reply', title: str(r.body) ?? str(r.name) ?? 'form reply' };
        const name = str(r.name);
        if (name) out.id = name;
        if (response !== undefined) out.response = response;
        return out;
      }
      return { type: 'unsupported', providerType: `interactive.${kind ?? 'unknown'}`, reason: 'unknown interactive reply' };
    }
    case 'button': {
      // template quick reply: same meaning as a button_reply
      const out: MessageContent = { type: 'interactive', interaction: 'button', title: str(body.text) ?? '' };
      const payload = str(body.payload);
      if (payload) out.id = payload;
      return out;
    }
    case 'reaction': {
      const target = str(body.message_id);
      if (!target) return { type: 'unsupported', providerType: type, reason: 'reaction without target' };
      const out: MessageContent = { type: 'reaction', targetMessageId: target };
      const emoji = str(body.emoji);
      if (emoji) out.emoji = emoji; // empty or missing emoji = reaction removed
      return out;
    }
    case 'order': {
      const items = Array.isArray(body.product_items) ? body.product_items.map((i) => obj(i)) : [];
      const out: MessageContent = {
        type: 'order',
        items: items.map((i) => {
          const item: { productId: string; quantity: number; price?: number; currency?: string } = {
            productId: str(i.product_retailer_id) ?? 'unknown',
            quantity: num(i.quantity) ?? 1,
          };
          const price = num(i.item_price);
          if (price !== undefined) item.price = price;
          const currency = str(i.currency);
          if (currency) item.currency = currency;
          return item;
        }),
      };
      const catalogId = str(body.catalog_id);
      if (catalogId) out.catalogId = catalogId;
      const text = str(body.text);
      if (text) out.text = text;
      return out;
    }
    case 'system': {
      const out: MessageContent = { type: 'system', text: str(body.body) ?? '' };
      const systemType = str(body.type);
      if (systemType) out.systemType = systemType;
      const newUser = str(body.wa_id) ?? str(body.user_id);
      if (newUser) out.newUserId = newUser;
      return out;
    }
    case 'unsupported':
      // polls, events, view-once media… (Meta: webhooks/reference/messages/unsupported); edits too while Meta's edit webhook is paused
      return { type: 'unsupported', providerType: str(body.type) ?? 'unsupported', reason: errorReason(m) || 'unsupported by WhatsApp' };
    case 'revoke':
      return { type: 'unsupported', providerType: 'revoke', reason: 'the customer deleted a message' };
    default:
      return { type: 'unsupported', providerType: type, reason: 'message type not handled by the gateway' };
  }
}

const STATUS_MAP: Record<string, DeliveryStatus> = { sent: 'sent', delivered: 'delivered', read: 'read', played: 'played', failed: 'failed' };

/** Finds the contact of a message by id, never by index (Meta: contacts and messages are not aligned). */
function contactFor(contacts: WaContact[], m: WaMessage): WaContact | undefined {
  return contacts.find((c) => (m.from !== undefined && c.wa_id === m.from) || (m.from_user_id !== undefined && c.user_id === m.from_user_id));
}

function referralOf(m: Obj): Referral | undefined {
  const r = m.referral;
  if (!r || typeof r !== 'object' || Array.isArray(r)) return undefined;
  const o = r as Obj;
  const out: Referral = {};
  const set = (key: keyof Referral, v: unknown) => {
    const s = str(v)?.trim();
    if (s) out[key] = s.slice(0, 1000);
  };
  set('sourceType', o.source_type);
  set('sourceId', o.source_id);
  set('sourceUrl', o.source_url);
  set('headline', o.headline);
  set('body', o.body);
  set('mediaType', o.media_type);
  set('ctwaClid', o.ctwa_clid);
  set('welcomeText', obj(o.welcome_message).text);
  return Object.keys(out).length > 0 ? out : undefined;
}

function unsupported(reason: string, providerType: string, seed: string): InboundEvent {
  return { kind: 'unsupported', eventId: jobId('wa-x', shortHash(seed, 24)), channel: 'whatsapp', providerType, reason };
}

/** `providerType` of the one event that stands for a change of a phone number the account does not serve. */
export const OTHER_PHONE_NUMBER = 'other_phone_number';

/** Options of {@link parseWebhook}. */
export interface ParseWebhookOptions {
  /**
   * The phone number ids the account serves (file accounts). A change of any other number becomes
   * one `unsupported` event of type {@link OTHER_PHONE_NUMBER} (no customer, no content) that the
   * channel acknowledges without handing it on. Absent: every number is served (account `default`).
   */
  readonly phoneNumberIds?: ReadonlySet<string>;
}

/**
 * Returns every event of a Meta delivery: all entries × changes × messages, statuses and errors.
 * Nothing is dropped: shapes the gateway does not act on come back as `unsupported` events.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
 */
export function parseWebhook(payload: unknown, ctx: { receivedAt: number }, opts: ParseWebhookOptions = {}): InboundEvent[] {
  const envelope = WaWebhook.safeParse(payload);
  if (!envelope.success) return [unsupported('not a WhatsApp webhook envelope', 'envelope', JSON.stringify(payload ?? null).slice(0, 500))];
  if (envelope.data.object !== 'whatsapp_business_account') {
    return [unsupported(`object ${envelope.data.object} is not handled`, envelope.data.object, JSON.stringify(payload).slice(0, 500))];
  }
  const events: InboundEvent[] = [];
  envelope.data.entry.forEach((entry, ei) => {
    entry.changes.forEach((rawChange, ci) => {
      const change = WaChange.safeParse(rawChange);
      const seed = `${entry.id ?? ''}:${ei}:${ci}:${JSON.stringify(rawChange).slice(0, 300)}`;
      if (!change.success) {
        events.push(unsupported('malformed change', 'change', seed));
        return;
      }
      // WhatsApp: every messaging event comes with field "messages"; other fields (account_update,
      // message_template_status_update, smb_message_echoes, …) are acknowledged, never fed to the bot.
      if (change.data.field === 'user_preferences') {
        events.push(...parseUserPreferences(change.data.value, opts, seed, ctx.receivedAt));
        return;
      }
      if (change.data.field === 'smb_message_echoes') {
        events.push(...parseMessageEchoes(change.data.value, opts, seed, ctx.receivedAt));
        return;
      }
      if (change.data.field !== 'messages') {
        events.push(unsupported(`field ${change.data.field} is not handled`, change.data.field, seed));
        return;
      }
      const value = WaChangeValue.safeParse(change.data.value);
      if (!value.success || !value.data.metadata) {
        events.push(unsupported('change without metadata.phone_number_id', 'messages', seed));
        return;
      }
      const account = value.data.metadata.phone_number_id;
      if (opts.phoneNumberIds && !opts.phoneNumberIds.has(account)) {
        const n = (key: 'messages' | 'statuses' | 'errors') => value.data[key]?.length ?? 0;
        events.push(unsupported(`phone number id ${account} is not one of this account's (${n('messages')} messages, ${n('statuses')} statuses, ${n('errors')} errors)`, OTHER_PHONE_NUMBER, seed));
        return;
      }
      const contacts = value.data.contacts ?? [];
      for (const raw of value.data.messages ?? []) events.push(parseMessage(raw, account, contacts, ctx.receivedAt));
      for (const raw of value.data.statuses ?? []) events.push(parseStatus(raw, account, ctx.receivedAt));
      for (const err of value.data.errors ?? []) {
        events.push(unsupported(`value error ${err.code}: ${err.title ?? err.message ?? ''}`.trim(), 'error', `${seed}:${err.code}`));
      }
      const extra = value.data as Record<string, unknown>;
      // echoes arrive under their own field (above); inside a `messages` change they are not expected
      for (const echoField of ['message_echoes', 'smb_message_echoes']) {
        if (Array.isArray(extra[echoField]) && (extra[echoField] as unknown[]).length > 0) {
          events.push(unsupported(`${echoField} are never answered`, echoField, `${seed}:${echoField}`));
        }
      }
    });
  });
  return events;
}

/**
 * `smb_message_echoes` (Coexistence): what the business sent from the WhatsApp Business app. Each
 * echo is a message of the customer's conversation written by the business (`author: business`):
 * kept in the record and the mirror, never answered; the bot goes quiet.
 * @see https://developers.facebook.com/docs/whatsapp/embedded-signup/custom-flows/onboarding-business-app-users
 */
function parseMessageEchoes(rawValue: unknown, opts: ParseWebhookOptions, seed: string, receivedAt: number): InboundEvent[] {
  const value = WaChangeValue.safeParse(rawValue);
  if (!value.success || !value.data.metadata) return [unsupported('smb_message_echoes without metadata.phone_number_id', 'smb_message_echoes', seed)];
  const account = value.data.metadata.phone_number_id;
  const echoes = (value.data as Record<string, unknown>).message_echoes;
  if (opts.phoneNumberIds && !opts.phoneNumberIds.has(account)) {
    return [unsupported(`phone number id ${account} is not one of this account's (message echoes)`, OTHER_PHONE_NUMBER, seed)];
  }
  if (!Array.isArray(echoes) || echoes.length === 0) return [unsupported('smb_message_echoes without message_echoes', 'smb_message_echoes', seed)];
  return echoes.map((raw, i) => parseMessageEcho(raw, account, receivedAt, `${seed}:${i}`));
}

function parseMessageEcho(raw: unknown, account: string, receivedAt: number, seed: string): InboundEvent {
  const parsed = WaMessageEcho.safeParse(raw);
  if (!parsed.success) return unsupported('malformed message echo', 'smb_message_echo', seed);
  const m = parsed.data as WaMessageEcho;
  // the same key as the customer's own messages: business-scoped user id first, then the wa_id
  const customer = m.to_parent_user_id ?? m.to_user_id ?? m.to;
  if (!customer) return unsupported('message echo without a recipient', 'smb_message_echo', `${account}:${m.id}`);
  const ref: ConversationRef = { channel: 'whatsapp', account, userId: customer };
  if (m.to) {
    ref.address = m.to;
    ref.phone = `+${m.to.replace(/^\+/, '')}`;
  }
  const content = parseContent(m);
  return {
    kind: 'message',
    eventId: jobId('wa-echo', account, m.id),
    providerMessageId: m.id,
    conversation: ref,
    sentAt: toMs(m.timestamp, receivedAt),
    receivedAt,
    // content the gateway cannot read is still the business's message: kept as such, never answered
    content,
    author: 'business',
  };
}

function parseMessage(raw: unknown, account: string, contacts: WaContact[], receivedAt: number): InboundEvent {
  const parsed = WaMessage.safeParse(raw);
  if (!parsed.success) return unsupported('malformed message', 'message', `${account}:${JSON.stringify(raw).slice(0, 300)}`);
  const m = parsed.data as WaMessage;
  const contact = contactFor(contacts, m);
  // Usernames (2026): `from`/`wa_id` may be absent; key on the business-scoped user id when present.
  const userId = m.from_parent_user_id ?? contact?.parent_user_id ?? m.from_user_id ?? contact?.user_id ?? m.from ?? contact?.wa_id;
  if (!userId) return unsupported('message without any sender id', 'message', `${account}:${m.id}`);
  const phone = m.from ?? contact?.wa_id;
  const ref: ConversationRef = { channel: 'whatsapp', account, userId };
  if (phone) {
    ref.address = phone;
    ref.phone = `+${phone.replace(/^\+/, '')}`;
  }
  const name = contact?.profile?.name ?? contact?.profile?.username;
  if (name) ref.displayName = name;
  if (contact?.profile?.username) ref.username = contact.profile.username.replace(/^@/, '');
  const eventId = jobId('wa', account, m.id);
  // an edit carries the whole edited message (Meta: webhooks/reference/messages/edit, Coexistence only)
  const edit = m.type === 'edit' ? obj((m as Obj).edit) : undefined;
  const editedMessage = edit ? obj(edit.message) : undefined;
  const originalId = edit ? str(edit.original_message_id) : undefined;
  const source: Obj = editedMessage && originalId && str(editedMessage.type) !== 'edit' ? editedMessage : m;
  const content: MessageContent =
    edit && source === m ? { type: 'unsupported', providerType: 'edit', reason: 'edit without original_message_id or message' } : parseContent(source);
  if (content.type === 'unsupported') {
    // nothing the agent could read: acknowledged, logged and counted, never answered by the LLM
    return {
      kind: 'unsupported',
      eventId,
      channel: 'whatsapp',
      providerType: content.providerType,
      reason: content.reason ?? 'unsupported',
      conversation: ref,
      providerMessageId: m.id,
      customerContent: !NOISE_TYPES.has(content.providerType),
    };
  }
  const event: InboundEvent = {
    kind: 'message',
    eventId,
    providerMessageId: m.id,
    conversation: ref,
    sentAt: toMs(m.timestamp, receivedAt),
    receivedAt,
    content,
    author: 'customer',
  };
  const context = source === m ? m.context : (obj(source.context) as WaMessage['context']);
  if (context?.id) event.replyToProviderMessageId = context.id;
  if (context?.forwarded || context?.frequently_forwarded) event.forwarded = true;
  if (source !== m && originalId) event.editOf = originalId;
  const referral = referralOf(m);
  if (referral) event.referral = referral;
  return event;
}

function parseStatus(raw: unknown, account: string, receivedAt: number): InboundEvent {
  const parsed = WaStatus.safeParse(raw);
  if (!parsed.success) return unsupported('malformed status', 'status', `${account}:${JSON.stringify(raw).slice(0, 300)}`);
  const s = parsed.data;
  const status = STATUS_MAP[s.status];
  if (!status) return unsupported(`status ${s.status} is not handled`, `status.${s.status}`, `${account}:${s.id}:${s.status}`);
  const event: InboundEvent = {
    kind: 'status',
    eventId: jobId('wa-st', account, s.id, status),
    channel: 'whatsapp',
    account,
    providerMessageId: s.id,
    status,
    at: toMs(s.timestamp, receivedAt),
    errors: (s.errors ?? []).map((e) => {
      const out: { code: number; title?: string; detail?: string } = { code: e.code };
      const title = e.title ?? e.message;
      if (title) out.title = title;
      if (e.error_data?.details) out.detail = e.error_data.details;
      return out;
    }),
  };
  const recipient = s.recipient_id ?? s.recipient_user_id;
  if (recipient) event.recipient = recipient;
  if (s.biz_opaque_callback_data) event.correlation = s.biz_opaque_callback_data;
  return event;
}

/**
 * `user_preferences` (Meta: webhooks/reference/user_preferences): the customer stopped or resumed
 * marketing messages in WhatsApp itself. Becomes an `opted_out` / `opted_in` signal of their
 * conversation; other categories or values are acknowledged as unsupported.
 */
function parseUserPreferences(rawValue: unknown, opts: ParseWebhookOptions, seed: string, receivedAt: number): InboundEvent[] {
  const value = WaUserPreferencesValue.safeParse(rawValue);
  if (!value.success || !value.data.metadata) return [unsupported('user_preferences without metadata.phone_number_id', 'user_preferences', seed)];
  const account = value.data.metadata.phone_number_id;
  if (opts.phoneNumberIds && !opts.phoneNumberIds.has(account)) return [unsupported(`phone number id ${account} is not one of this account's (user_preferences)`, OTHER_PHONE_NUMBER, seed)];
  const contacts = value.data.contacts ?? [];
  return value.data.user_preferences.map((p, i): InboundEvent => {
    const signal = p.category === 'marketing_messages' ? (p.value === 'stop' ? 'opted_out' : p.value === 'resume' ? 'opted_in' : undefined) : undefined;
    if (!signal) return unsupported(`user preference ${p.category ?? '?'}=${p.value ?? '?'} is not handled`, 'user_preferences', `${seed}:${i}`);
    const contact = contacts.find((c) => (p.wa_id !== undefined && c.wa_id === p.wa_id) || (p.user_id !== undefined && c.user_id === p.user_id));
    // the same id rule as a message's sender, so the flag lands on the conversation's customer
    const userId = p.parent_user_id ?? contact?.parent_user_id ?? p.user_id ?? contact?.user_id ?? p.wa_id ?? contact?.wa_id;
    if (!userId) return unsupported('user preference without any customer id', 'user_preferences', `${seed}:${i}`);
    const phone = p.wa_id ?? contact?.wa_id;
    const ref: ConversationRef = { channel: 'whatsapp', account, userId, ...(phone ? { address: phone, phone: `+${phone.replace(/^\+/, '')}` } : {}) };
    const at = toMs(p.timestamp, receivedAt);
    return {
      kind: 'signal',
      eventId: jobId('wa-pref', account, shortHash(`${userId}|${p.value ?? ''}|${at}`, 24)),
      conversation: ref,
      at,
      signal,
      detail: { category: p.category, ...(p.detail ? { detail: p.detail.slice(0, 200) } : {}) },
    };
  });
}
