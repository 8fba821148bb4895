import { createHmac } from 'node:crypto';
import type { SentMessage } from './fake-graph.js';

/** `X-Hub-Signature-256` for a raw body, as Meta computes it. */
export function signMeta(raw: Buffer | string, appSecret: string): string {
  return 'sha256=' + createHmac('sha256', appSecret).update(raw).digest('hex');
}

let seq = 0;

/** Options for {@link whatsappTextDelivery}. */
export interface TextDeliveryOptions {
  phoneNumberId?: string;
  /** Omit for a username-only user (no phone number). */
  waId?: string;
  userId?: string;
  name?: string;
  /** `contacts[].profile.username` (WhatsApp usernames, 2026). */
  username?: string;
  text: string;
  wamid?: string;
  timestamp?: number;
}

/** A real-shaped WhatsApp webhook delivery with one text message. */
export function whatsappTextDelivery(o: TextDeliveryOptions): { payload: unknown; wamid: string } {
  seq += 1;
  const wamid = o.wamid ?? `wamid.TEST${Date.now().toString(36)}${process.pid}${seq}`;
  const contact: Record<string, unknown> = { profile: { name: o.name ?? 'Test User', ...(o.username ? { username: o.username } : {}) } };
  if (o.waId) contact.wa_id = o.waId;
  if (o.userId) contact.user_id = o.userId;
  const message: Record<string, unknown> = { id: wamid, timestamp: String(o.timestamp ?? Math.floor(Date.now() / 1000)), type: 'text', text: { body: o.text } };
  if (o.waId) message.from = o.waId;
  if (o.userId) message.from_user_id = o.userId;
  return {
    wamid,
    payload: {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '100200300400500',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550001111', phone_number_id: o.phoneNumberId ?? '109876543210987' },
                contacts: [contact],
                messages: [message],
              },
            },
          ],
        },
      ],
    },
  };
}

/**
 * The status webhook Meta posts for a message the fake Graph accepted (`sent`, `delivered`, …),
 * echoing `biz_opaque_callback_data` as the real one does.
 */
export function whatsappStatusDelivery(msg: SentMessage, status: 'sent' | 'delivered' | 'read' = 'sent'): unknown {
  const recipient = String(msg.to ?? msg.recipient).replace(/^\+/, '');
  const callback = msg.body['biz_opaque_callback_data'];
  const entry = { id: msg.wamid, status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: recipient, ...(typeof callback === 'string' ? { biz_opaque_callback_data: callback } : {}) };
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: '100200300400500', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001111', phone_number_id: msg.phoneNumberId }, statuses: [entry] } }] }],
  };
}
