import { z } from 'zod';

/**
 * Webhook payload shapes of Chatwoot 4.15.1 (`Message#webhook_data`, `Conversations::EventDataPresenter`).
 * Schemas are deliberately loose: only the fields the gateway reads are declared, everything else passes.
 * @see ../../../docs/channels/chatwoot.md
 */

const Id = z.number().int();

/** A contact (`Contact#webhook_data`, no `type` key at the top level), user (`type: "user"`) or bot (`type: "agent_bot"`). */
export const WireSender = z.looseObject({
  id: Id.optional(),
  name: z.string().nullish(),
  type: z.string().nullish(),
  identifier: z.string().nullish(),
  phone_number: z.string().nullish(),
  email: z.string().nullish(),
});
export type WireSender = z.infer<typeof WireSender>;

export const WireAttachment = z.looseObject({
  id: Id.optional(),
  file_type: z.string(),
  content_type: z.string().nullish(),
  extension: z.string().nullish(),
  data_url: z.string().nullish(),
  thumb_url: z.string().nullish(),
  file_size: z.number().nullish(),
  coordinates_lat: z.number().nullish(),
  coordinates_long: z.number().nullish(),
  fallback_title: z.string().nullish(),
  transcribed_text: z.string().nullish(),
});
export type WireAttachment = z.infer<typeof WireAttachment>;

/** `conversation.meta`: `assignee_type` exists since 4.8.0; older installs only have `assignee.type`. */
export const WireConversationMeta = z.looseObject({
  sender: WireSender.nullish(),
  assignee: z.looseObject({ id: Id.optional(), type: z.string().nullish() }).nullish(),
  assignee_type: z.string().nullish(),
});

/** The conversation object: `id` is the per-account display id used in every URL. */
export const WireConversation = z.looseObject({
  id: Id,
  inbox_id: Id.nullish(),
  status: z.string(),
  meta: WireConversationMeta.nullish(),
  contact_inbox: z.looseObject({ contact_id: Id.nullish(), source_id: z.string().nullish() }).nullish(),
  updated_at: z.number().nullish(),
  last_activity_at: z.number().nullish(),
  account: z.looseObject({ id: Id }).nullish(),
  account_id: Id.nullish(),
});
export type WireConversation = z.infer<typeof WireConversation>;

/** `message_created` / `message_updated`: the message is the top level; `message_type` is a string here. */
export const WireMessageEvent = z.looseObject({
  event: z.enum(['message_created', 'message_updated']),
  id: Id,
  content: z.string().nullish(),
  content_type: z.string().nullish(),
  content_attributes: z.record(z.string(), z.unknown()).nullish(),
  message_type: z.string(),
  private: z.boolean().nullish(),
  source_id: z.string().nullish(),
  created_at: z.union([z.string(), z.number()]).nullish(),
  sender: WireSender.nullish(),
  account: z.looseObject({ id: Id }).nullish(),
  inbox: z.looseObject({ id: Id }).nullish(),
  conversation: WireConversation,
  attachments: z.array(WireAttachment).nullish(),
});
export type WireMessageEvent = z.infer<typeof WireMessageEvent>;

/** Conversation events: the conversation is the top level plus `event` and (sometimes null) `changed_attributes`. */
export const WireConversationEvent = WireConversation.extend({
  event: z.enum(['conversation_status_changed', 'conversation_updated', 'conversation_opened', 'conversation_resolved']),
  changed_attributes: z.array(z.record(z.string(), z.unknown())).nullish(),
});
export type WireConversationEvent = z.infer<typeof WireConversationEvent>;

/** `webwidget_triggered`: `ContactInbox#webhook_data` plus `event_info` (web widget only). */
export const WireWidgetEvent = z.looseObject({
  event: z.literal('webwidget_triggered'),
  contact: WireSender.nullish(),
  account: z.looseObject({ id: Id }).nullish(),
  inbox: z.looseObject({ id: Id }).nullish(),
  current_conversation: WireConversation.nullish(),
  source_id: z.string().nullish(),
  event_info: z.record(z.string(), z.unknown()).nullish(),
});
export type WireWidgetEvent = z.infer<typeof WireWidgetEvent>;

/** Any JSON object with an `event` name: the envelope every webhook must satisfy. */
export const WireEnvelope = z.looseObject({ event: z.string().min(1) });
export type WireEnvelope = z.infer<typeof WireEnvelope>;

/** Integer `message_type` of REST responses and `conversation.messages[]`. */
export const REST_MESSAGE_TYPE = { incoming: 0, outgoing: 1, activity: 2, template: 3 } as const;

/** A message as the REST API returns it. */
export const RestMessage = z.looseObject({
  id: Id,
  content: z.string().nullish(),
  message_type: z.union([z.number(), z.string()]).nullish(),
  private: z.boolean().nullish(),
  source_id: z.string().nullish(),
  status: z.string().nullish(),
  /** Unix seconds. */
  created_at: z.union([z.number(), z.string()]).nullish(),
});
export type RestMessage = z.infer<typeof RestMessage>;

/** `GET …/conversations/{id}` (bots may call it since 4.14.2). */
export const RestConversation = z.looseObject({
  id: Id,
  status: z.string(),
  inbox_id: Id.nullish(),
  meta: WireConversationMeta.nullish(),
  assignee_type: z.string().nullish(),
  labels: z.array(z.string()).nullish(),
  custom_attributes: z.record(z.string(), z.unknown()).nullish(),
});
export type RestConversation = z.infer<typeof RestConversation>;

export const RestContact = z.looseObject({
  id: Id,
  identifier: z.string().nullish(),
  phone_number: z.string().nullish(),
  name: z.string().nullish(),
});
export type RestContact = z.infer<typeof RestContact>;

/** Who is assigned: `User`, `AgentBot` or nobody; derived from `assignee_type`, else from `assignee.type`. */
export function assigneeKind(meta: z.infer<typeof WireConversationMeta> | null | undefined, topLevel?: string | null): 'User' | 'AgentBot' | null {
  const explicit = meta?.assignee_type ?? topLevel;
  if (explicit === 'User' || explicit === 'AgentBot') return explicit;
  const assignee = meta?.assignee;
  if (!assignee) return null;
  return assignee.type === 'agent_bot' ? 'AgentBot' : 'User';
}
