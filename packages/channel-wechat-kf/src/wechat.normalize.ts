import { z } from 'zod';
import { jobId, type ConversationRef, type InboundEvent, type MessageContent } from '@switchboard/core';
import { FAIL_TYPES, KfMessage, type KfEvent } from './wechat.wire.js';

/**
 * `kf/sync_msg` items → core `InboundEvent`s (pure).
 * origin 3 = customer, 4 = system event, 5 = a human servicer typing in the WeCom client.
 * @see https://developer.work.weixin.qq.com/document/path/94670
 */

/** Side effects the sync step performs itself instead of queuing them. */
export type SyncAction =
  /** `enter_session` with a `welcome_code`: `send_msg_on_event` within 20 s. */
  | { readonly type: 'welcome'; readonly code: string; readonly msgid: string; readonly ref: ConversationRef; readonly sentAt: number }
  /** A customer message renews the 5-message allowance and the 48 h window. */
  | { readonly type: 'customer_wrote'; readonly ref: ConversationRef; readonly sentAt: number; readonly msgid: string }
  /** A servicer started or stopped receiving (used to pick a handoff target). */
  | { readonly type: 'servicer_status'; readonly openKfId?: string; readonly servicerUserId: string; readonly receiving: boolean };

/** What one sync item turns into. */
export interface Normalized {
  readonly events: InboundEvent[];
  readonly actions: SyncAction[];
}

/** Context of a pull. */
export interface NormalizeContext {
  readonly receivedAt: number;
  /** The callback's `OpenKfId`, used when an item lacks one. */
  readonly openKfId?: string;
}

const CHANNEL = 'wechat-kf' as const;

/** The inbound event id of a sync item: `wx-<open_kfid>-<msgid>` (msgid is the dedupe key). */
export function wechatEventId(openKfId: string, msgid: string): string {
  return jobId('wx', openKfId, msgid);
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const n = (v: unknown): number | undefined => {
  const x = typeof v === 'string' ? Number(v) : v;
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
};

function media(body: Record<string, unknown>, extra: { mimeType?: string } = {}): { mediaId?: string; mimeType?: string } {
  const mediaId = s(body['media_id']);
  return { ...(mediaId ? { mediaId } : {}), ...extra };
}

function mergedItemText(msgtype: string, raw: unknown): string {
  if (typeof raw !== 'string') return `[${msgtype}]`;
  try {
    const parsed = obj(JSON.parse(raw));
    const text = s(obj(parsed['text'])['content']) ?? s(parsed['content']);
    if (text) return text;
    const title = s(obj(parsed[msgtype])['title']) ?? s(parsed['title']);
    return title ? `[${msgtype}] ${title}` : `[${msgtype}]`;
  } catch {
    return `[${msgtype}]`;
  }
}

/**
 * The readable text of a `msgmenu` (doc 94670/96427: head_content, list of click/view/miniprogram/text
 * items each with `content`, tail_content), one item per line. Tapping a click item comes back as a
 * `text` message with `menu_id`, handled above.
 */
export function msgmenuText(body: Record<string, unknown>): string {
  const lines: string[] = [];
  const head = s(body['head_content'])?.trim();
  if (head) lines.push(head);
  const list = Array.isArray(body['list']) ? body['list'].slice(0, 20) : [];
  for (const raw of list) {
    const item = obj(raw);
    const kind = s(item['type']) ?? '';
    const content = s(obj(item[kind])['content'])?.trim();
    if (!content) continue;
    const url = kind === 'view' ? s(obj(item[kind])['url']) : undefined;
    lines.push(`- ${content}${url ? ` (${url})` : ''}`);
  }
  const tail = s(body['tail_content'])?.trim();
  if (tail) lines.push(tail);
  return lines.join('\n');
}

/** Message body by `msgtype`; unknown types become `unsupported` content (kept, logged, counted). */
export function normalizeContent(msg: KfMessage): MessageContent {
  const type = msg.msgtype;
  const body = obj(msg[type]);
  switch (type) {
    case 'text': {
      const menuId = s(body['menu_id']);
      return { type: 'text', text: s(body['content']) ?? '', ...(menuId ? { menuId } : {}) };
    }
    case 'image':
      return { type: 'image', media: media(body) };
    case 'voice':
      // voice_format 0 asks for AMR
      return { type: 'audio', voice: true, media: media(body, { mimeType: 'audio/amr' }) };
    case 'video':
      return { type: 'video', media: media(body) };
    case 'file':
      return { type: 'document', media: media(body) };
    case 'location': {
      const latitude = n(body['latitude']);
      const longitude = n(body['longitude']);
      if (latitude === undefined || longitude === undefined) return { type: 'unsupported', providerType: type, reason: 'location without coordinates' };
      const name = s(body['name']);
      const address = s(body['address']);
      return { type: 'location', latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) };
    }
    case 'link': {
      const url = s(body['url']);
      if (!url) return { type: 'unsupported', providerType: type, reason: 'link without url' };
      const title = s(body['title']);
      const description = s(body['desc']);
      return { type: 'link', url, ...(title ? { title } : {}), ...(description ? { description } : {}) };
    }
    case 'business_card':
      return { type: 'card', cardType: 'business_card', summary: `business card of ${s(body['userid']) ?? 'unknown member'}`, data: body };
    case 'miniprogram':
      return { type: 'card', cardType: 'miniprogram', summary: `mini program: ${s(body['title']) ?? s(body['appid']) ?? ''}`.trim(), data: body };
    case 'channels_shop_product':
      return {
        type: 'card',
        cardType: 'channels_shop_product',
        summary: `product: ${s(body['title']) ?? s(body['product_id']) ?? ''}${s(body['sales_price']) ? ` (${s(body['sales_price'])})` : ''}`,
        data: body,
      };
    case 'channels_shop_order':
      return {
        type: 'card',
        cardType: 'channels_shop_order',
        summary: `order ${s(body['order_id']) ?? ''}: ${s(body['product_titles']) ?? ''} ${s(body['price_wording']) ?? ''} ${s(body['state']) ?? ''}`.replace(/\s+/g, ' ').trim(),
        data: body,
      };
    case 'channels':
      return { type: 'card', cardType: 'channels', summary: `channels: ${s(body['nickname']) ?? ''} ${s(body['title']) ?? ''}`.trim(), data: body };
    case 'merged_msg': {
      const items = Array.isArray(body['item']) ? body['item'] : [];
      const title = s(body['title']);
      return {
        type: 'merged',
        ...(title ? { title } : {}),
        items: items.map((raw) => {
          const it = obj(raw);
          const sender = s(it['sender_name']);
          const sentAt = n(it['send_time']);
          return {
            text: mergedItemText(s(it['msgtype']) ?? 'unknown', it['msg_content']),
            ...(sender ? { sender } : {}),
            ...(sentAt !== undefined ? { sentAt: sentAt * 1000 } : {}),
          };
        }),
      };
    }
    case 'msgmenu': {
      const text = msgmenuText(body);
      if (!text) return { type: 'unsupported', providerType: type, reason: 'msgmenu without readable content' };
      return { type: 'text', text };
    }
    default:
      // meeting, schedule, note and future types: visible as unsupported, never dropped
      return { type: 'unsupported', providerType: type, reason: 'message type not handled by the gateway' };
  }
}

function signal(
  openKfId: string,
  msg: KfMessage,
  ref: ConversationRef,
  kind: 'human_took_over' | 'bot_resumed' | 'session_ended' | 'session_started' | 'send_failed' | 'recalled' | 'info',
  detail: Record<string, unknown>,
): InboundEvent {
  return { kind: 'signal', eventId: wechatEventId(openKfId, msg.msgid), conversation: ref, at: msg.send_time * 1000, signal: kind, detail };
}

function unsupported(openKfId: string, msg: KfMessage, providerType: string, reason: string): InboundEvent {
  return { kind: 'unsupported', eventId: wechatEventId(openKfId, msg.msgid), channel: CHANNEL, providerType, reason };
}

const compact = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function normalizeEvent(msg: KfMessage, ev: KfEvent, ctx: NormalizeContext): Normalized {
  const openKfId = ev.open_kfid ?? msg.open_kfid ?? ctx.openKfId ?? 'unknown';
  if (ev.event_type === 'servicer_status_change') {
    if (!ev.servicer_userid || ev.status === undefined) return { events: [unsupported(openKfId, msg, 'event:servicer_status_change', 'missing servicer_userid or status')], actions: [] };
    // in this event 1 = receiving, 2 = stopped (kf/servicer/list uses 0/1 instead)
    return { events: [], actions: [{ type: 'servicer_status', ...(ev.open_kfid ? { openKfId: ev.open_kfid } : {}), servicerUserId: ev.servicer_userid, receiving: ev.status === 1 }] };
  }
  const userId = ev.external_userid ?? msg.external_userid;
  if (!userId) return { events: [unsupported(openKfId, msg, `event:${ev.event_type}`, 'event without external_userid')], actions: [] };
  const ref: ConversationRef = { channel: CHANNEL, account: openKfId, userId };
  const at = msg.send_time * 1000;
  switch (ev.event_type) {
    case 'enter_session': {
      const events = [signal(openKfId, msg, ref, 'session_started', compact({ scene: ev.scene, sceneParam: ev.scene_param, welcomeCode: ev.welcome_code ? true : undefined }))];
      const actions: SyncAction[] = ev.welcome_code ? [{ type: 'welcome', code: ev.welcome_code, msgid: msg.msgid, ref, sentAt: at }] : [];
      return { events, actions };
    }
    case 'msg_send_fail': {
      if (!ev.fail_msgid) return { events: [unsupported(openKfId, msg, 'event:msg_send_fail', 'missing fail_msgid')], actions: [] };
      const failType = ev.fail_type ?? 0;
      return {
        events: [
          {
            kind: 'status',
            eventId: wechatEventId(openKfId, msg.msgid),
            channel: CHANNEL,
            account: openKfId,
            providerMessageId: ev.fail_msgid,
            status: 'failed',
            at,
            recipient: userId,
            errors: [{ code: failType, title: FAIL_TYPES[failType] ?? `fail_type ${failType}`, detail: 'msg_send_fail' }],
          },
        ],
        actions: [],
      };
    }
    case 'session_status_change': {
      const changeType = ev.change_type ?? 0;
      const detail = compact({ changeType, oldServicer: ev.old_servicer_userid, newServicer: ev.new_servicer_userid });
      // 1 taken from the queue, 2 transferred, 4 re-joined: a human owns it; 3 ended: the bot may answer the next message
      if (changeType === 3) return { events: [signal(openKfId, msg, ref, 'session_ended', detail)], actions: [] };
      if (changeType === 1 || changeType === 2 || changeType === 4) return { events: [signal(openKfId, msg, ref, 'human_took_over', detail)], actions: [] };
      return { events: [signal(openKfId, msg, ref, 'info', { ...detail, event: 'session_status_change' })], actions: [] };
    }
    case 'user_recall_msg':
    case 'servicer_recall_msg':
      return { events: [signal(openKfId, msg, ref, 'recalled', compact({ by: ev.event_type === 'user_recall_msg' ? 'customer' : 'servicer', recallMsgid: ev.recall_msgid }))], actions: [] };
    case 'reject_customer_msg_switch_change':
      return { events: [signal(openKfId, msg, ref, 'info', compact({ event: ev.event_type, rejectSwitch: ev.reject_switch }))], actions: [] };
    default:
      return { events: [unsupported(openKfId, msg, `event:${ev.event_type}`, 'event type not handled by the gateway')], actions: [] };
  }
}

const Loose = z.object({ msgid: z.string().min(1) }).catchall(z.unknown());

/**
 * Normalizes one `msg_list` item. Never throws: an item that does not match the documented shape
 * becomes an `unsupported` event (or, without even a msgid, nothing — there is no id to dedupe on).
 */
export function normalizeKfMessage(raw: unknown, ctx: NormalizeContext): Normalized {
  const parsed = KfMessage.safeParse(raw);
  if (!parsed.success) {
    const loose = Loose.safeParse(raw);
    if (!loose.success) return { events: [], actions: [] };
    const kfid = s(loose.data['open_kfid']) ?? ctx.openKfId ?? 'unknown';
    return { events: [{ kind: 'unsupported', eventId: wechatEventId(kfid, loose.data.msgid), channel: CHANNEL, providerType: s(loose.data['msgtype']) ?? 'unknown', reason: 'item does not match the documented shape' }], actions: [] };
  }
  const msg = parsed.data;
  if (msg.msgtype === 'event') {
    if (!msg.event) return { events: [unsupported(msg.open_kfid ?? ctx.openKfId ?? 'unknown', msg, 'event', 'event item without event body')], actions: [] };
    return normalizeEvent(msg, msg.event, ctx);
  }
  const openKfId = msg.open_kfid ?? ctx.openKfId ?? 'unknown';
  if (!msg.external_userid) return { events: [unsupported(openKfId, msg, msg.msgtype, 'message without external_userid')], actions: [] };
  const ref: ConversationRef = { channel: CHANNEL, account: openKfId, userId: msg.external_userid };
  const sentAt = msg.send_time * 1000;
  const base = {
    kind: 'message' as const,
    eventId: wechatEventId(openKfId, msg.msgid),
    providerMessageId: msg.msgid,
    conversation: ref,
    sentAt,
    receivedAt: ctx.receivedAt,
    content: normalizeContent(msg),
  };
  switch (msg.origin) {
    case 3:
      return { events: [{ ...base, author: 'customer' }], actions: [{ type: 'customer_wrote', ref, sentAt, msgid: msg.msgid }] };
    case 5:
      // A human servicer wrote from the WeCom client: kept for the record (mirroring); the inbound
      // role marks the conversation human-owned on any non-customer author, so the bot stays silent.
      return { events: [{ ...base, author: 'human_agent' }], actions: [] };
    default:
      return { events: [unsupported(openKfId, msg, `origin:${msg.origin}:${msg.msgtype}`, 'system message that is not an event')], actions: [] };
  }
}
