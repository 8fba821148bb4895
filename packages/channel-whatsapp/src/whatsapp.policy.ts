import { jobId, type Admission, type ConversationRef, type CustomerServiceWindow, type InboundEvent, type OutboundJob } from '@switchboard/core';

/** Meta's customer-service window; a click-to-WhatsApp ad or page entry opens a 72-hour one. */
export const WHATSAPP_FREE_FORM_WINDOW: CustomerServiceWindow = { afterLastMessageMs: 24 * 3600_000, afterEntryPointMs: 72 * 3600_000 };

/** WHATSAPP_ALLOWED_USERS / WHATSAPP_DISALLOWED_POLICY / WHATSAPP_REFUSAL_TEXT. */
export interface WhatsAppAllowlist {
  /** Empty = everyone may talk to the bot. Numbers with or without a leading `+`. */
  readonly allowedUsers: readonly string[];
  readonly disallowedPolicy: 'silent' | 'refuse';
  readonly refusalText: string;
}

const norm = (s: string) => s.replace(/^\+/, '');

/** Whether the bot may answer this conversation at all (wa_id, BSUID or phone on the allowlist). */
export function whatsappAdmission(list: WhatsAppAllowlist, ref: ConversationRef): Admission {
  if (list.allowedUsers.length === 0) return { allowed: true };
  const ok = [ref.userId, ref.address, ref.phone].some((id) => id !== undefined && list.allowedUsers.some((a) => norm(a) === norm(id)));
  if (ok) return { allowed: true };
  return { allowed: false, reason: 'user not in WHATSAPP_ALLOWED_USERS', ...(list.disallowedPolicy === 'refuse' ? { refusal: { text: list.refusalText } } : {}) };
}

/** 131047: more than 24 hours since the customer's last message (free-form messages refused). */
const REENGAGEMENT = 131047;

/**
 * The template reply for a reply that failed with 131047 (which usually arrives asynchronously as
 * a failed status), once per failed message (the id is claimed by the worker); undefined otherwise.
 */
export function fallbackTemplateJob(event: Extract<InboundEvent, { kind: 'status' }>, template: { name: string; language: string } | undefined): OutboundJob | undefined {
  if (!template || event.status !== 'failed' || !event.recipient || !event.errors.some((e) => e.code === REENGAGEMENT)) return undefined;
  return {
    outboundId: jobId('fb', event.account, event.providerMessageId),
    // the template goes out from the account (token) whose message failed
    ref: { channel: 'whatsapp', ...(event.accountId ? { accountId: event.accountId } : {}), account: event.account, userId: event.recipient, address: event.recipient },
    reply: { text: '', template },
    origin: 'fallback',
  };
}
