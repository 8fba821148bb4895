import { z } from 'zod';

/*
 * The webhook envelope as Meta documents it (webhooks/reference/messages). Only the envelope is
 * strict; message bodies are read defensively in whatsapp.parse.ts so a new field or type never
 * rejects a delivery.
 */

export const WaContact = z.looseObject({
  profile: z.looseObject({ name: z.string().optional(), username: z.string().optional() }).optional(),
  wa_id: z.string().optional(),
  user_id: z.string().optional(),
  parent_user_id: z.string().optional(),
});
export type WaContact = z.infer<typeof WaContact>;

export const WaError = z.looseObject({
  code: z.number(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});

export const WaMessage = z.looseObject({
  id: z.string().min(1),
  from: z.string().optional(),
  from_user_id: z.string().optional(),
  from_parent_user_id: z.string().optional(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  type: z.string().optional(),
  context: z.looseObject({ id: z.string().optional(), from: z.string().optional(), forwarded: z.boolean().optional(), frequently_forwarded: z.boolean().optional() }).optional(),
  errors: z.array(WaError).optional(),
});
export type WaMessage = z.infer<typeof WaMessage> & Record<string, unknown>;

export const WaStatus = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  recipient_id: z.string().optional(),
  recipient_user_id: z.string().optional(),
  biz_opaque_callback_data: z.string().optional(),
  errors: z.array(WaError).optional(),
});
export type WaStatus = z.infer<typeof WaStatus>;

export const WaChangeValue = z.looseObject({
  messaging_product: z.string().optional(),
  metadata: z.looseObject({ phone_number_id: z.string().min(1), display_phone_number: z.string().optional() }).optional(),
  contacts: z.array(WaContact).optional(),
  messages: z.array(z.unknown()).optional(),
  statuses: z.array(z.unknown()).optional(),
  errors: z.array(WaError).optional(),
});

/**
 * One `smb_message_echoes` echo (Coexistence: a message the business sent from the WhatsApp
 * Business app): `from` is the business number, `to` the customer's wa_id; `to_parent_user_id` /
 * `to_user_id` the business-scoped user ids (2026), keyed on first as customer messages are.
 */
export const WaMessageEcho = z.looseObject({
  id: z.string().min(1),
  from: z.string().optional(),
  to: z.string().optional(),
  to_user_id: z.string().optional(),
  to_parent_user_id: z.string().optional(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  type: z.string().optional(),
});
export type WaMessageEcho = z.infer<typeof WaMessageEcho> & Record<string, unknown>;

/** `user_preferences` change value (Meta: webhooks/reference/user_preferences). */
export const WaUserPreferencesValue = z.looseObject({
  metadata: z.looseObject({ phone_number_id: z.string().min(1), display_phone_number: z.string().optional() }).optional(),
  contacts: z.array(WaContact).optional(),
  user_preferences: z.array(
    z.looseObject({
      wa_id: z.string().optional(),
      user_id: z.string().optional(),
      parent_user_id: z.string().optional(),
      detail: z.string().optional(),
      category: z.string().optional(),
      value: z.string().optional(),
      timestamp: z.union([z.string(), z.number()]).optional(),
    }),
  ),
});

export const WaChange = z.looseObject({ field: z.string(), value: z.unknown() });

export const WaWebhook = z.looseObject({
  object: z.string(),
  entry: z.array(z.looseObject({ id: z.string().optional(), changes: z.array(z.unknown()).default([]) })),
});
export type WaWebhook = z.infer<typeof WaWebhook>;
