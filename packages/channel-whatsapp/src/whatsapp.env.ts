import { z } from 'zod';
import { csv, flag, int, optional, port, url, withDefault } from '@switchboard/core';

/** WhatsApp Cloud API settings (configuration contract). */
export const whatsappEnv = {
  WHATSAPP_PORT: port(3001),
  WHATSAPP_VERIFY_TOKEN: optional(),
  WHATSAPP_APP_SECRET: optional(),
  WHATSAPP_ACCESS_TOKEN: optional(),
  WHATSAPP_GRAPH_URL: url('https://graph.facebook.com/v24.0'),
  WHATSAPP_ALLOWED_USERS: csv(),
  /** Older name of WHATSAPP_REENGAGE_TEMPLATE (used when that one is unset). */
  WHATSAPP_FALLBACK_TEMPLATE: optional(),
  /**
   * `name:language` of the template sent once per hold episode when replies are held because the
   * customer's 24 h window is closed; set = replies are held instead of lost.
   */
  WHATSAPP_REENGAGE_TEMPLATE: optional(),
  /** The re-engagement template's body variables: `1=customer_name|there,2=reason` or `first_name=customer_name,topic=reason`. */
  WHATSAPP_REENGAGE_PARAMS: optional(),
  /** One `reason` text for every held reply (default by what produced it: "an answer to your question", "a reply from our team", "a message for you"). */
  WHATSAPP_REENGAGE_REASON: optional(),
  /** How long a held reply waits for the customer before it is dropped (hours, decimals allowed). */
  WHATSAPP_HELD_REPLY_TTL_HOURS: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().positive().max(24 * 365).default(72)),
  /** Most replies held per conversation; one more fails as it would without holding. */
  WHATSAPP_HELD_REPLY_MAX: int(20, 1),
  /** The default account's WhatsApp Business Account id: its message templates are synced from it. */
  WHATSAPP_WABA_ID: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v), z.string().regex(/^\d{1,30}$/, 'must be a numeric WhatsApp Business Account id').optional()),
  /**
   * The default account's sending number (its phone number id): business-started conversations (an
   * API template, a broadcast) to a customer who never wrote go from it. Unset = such templates are
   * refused (`422 unknown_customer`); replies always go from the number the customer wrote to.
   */
  WHATSAPP_PHONE_NUMBER_ID: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v), z.string().regex(/^\d{1,30}$/, 'must be a numeric phone number id').optional()),
  /** How often the template catalogue of every account is synced from Meta (ms; one worker runs each round). */
  WHATSAPP_TEMPLATE_REFRESH_MS: int(3_600_000, 60_000),
  /** Accept unsigned webhooks when no app secret is set (local development only; warned on every start). */
  WHATSAPP_INSECURE_SKIP_SIGNATURE: flag(false),
  /** What users outside WHATSAPP_ALLOWED_USERS get: nothing, or one polite refusal. */
  WHATSAPP_DISALLOWED_POLICY: withDefault('silent'),
  WHATSAPP_REFUSAL_TEXT: withDefault('Sorry, this assistant is not available for your number.'),
  /** Sends per second per phone number id (Cloud API default throughput is 80 msg/s). */
  WHATSAPP_SEND_RATE: withDefault('80'),
  /**
   * A send that may have been accepted (timeout, lost response, worker killed mid-send) waits this
   * long for its `sent` status webhook before it is sent again (ms).
   */
  WHATSAPP_RECONCILE_WAIT_MS: int(15_000),
  /**
   * Timeout of one message send to Graph (ms). A send that outlasts it counts as "maybe sent" and is
   * confirmed by its status webhook (WHATSAPP_RECONCILE_WAIT_MS, from the end of the request) before
   * it is sent again: shorter means a dropped request is retried sooner, never a duplicate.
   */
  WHATSAPP_SEND_TIMEOUT_MS: int(5_000, 1_000),
  /** Messages one reply may become; a longer answer is shortened and ends with WHATSAPP_SHORTENED_NOTE. */
  WHATSAPP_MAX_PARTS_PER_REPLY: int(5, 1),
  WHATSAPP_SHORTENED_NOTE: withDefault('(message shortened)'),
  /**
   * Minutes the bot stays quiet in a conversation after the business wrote to the customer from the
   * WhatsApp Business app (Coexistence `smb_message_echoes`); file accounts: `echoQuietMinutes`.
   */
  WHATSAPP_ECHO_QUIET_MINUTES: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().min(0).max(365 * 24 * 60).default(30)),
};

/** Meta ids are digits; YAML may write them as numbers. */
const MetaId = z.union([z.string(), z.number().int().nonnegative()]).transform(String).pipe(z.string().regex(/^\d{1,30}$/, 'must be a numeric Meta id'));

/** The keys of a WhatsApp account (one Meta app and its phone numbers) in `ACCOUNTS_FILE`; both halves read them. */
export const whatsappAccountFields = z.strictObject({
  /** The Meta app's secret: X-Hub-Signature-256 of this account's route. */
  appSecret: z.string().min(1),
  /** System-user or app token that may send from `phoneNumberIds`. */
  accessToken: z.string().min(1),
  /** `hub.verify_token` of this account's subscription check. */
  verifyToken: z.string().min(1),
  /** The phone number ids this account sends from and receives for (each has its own send rate). */
  phoneNumberIds: z.array(MetaId).min(1),
  /** The WhatsApp Business Account id (templates). */
  wabaId: MetaId.optional(),
  /** The number a template to a customer who never wrote goes from (one of `phoneNumberIds`; default the first). */
  phoneNumberId: MetaId.optional(),
  /** Sends per second per phone number (default WHATSAPP_SEND_RATE). */
  sendRate: z.number().positive().max(1000).optional(),
  /** Older name of `reengageTemplate`. */
  fallbackTemplate: z.string().regex(/^[a-z0-9_]+:[A-Za-z_]+$/, 'must be name:language, e.g. reengage:en_US').optional(),
  /** `name:language` of the template sent once per hold episode (replies held outside the 24 h window). */
  reengageTemplate: z.string().regex(/^[a-z0-9_]+:[A-Za-z_]+$/, 'must be name:language, e.g. reengage:en_US').optional(),
  /** Its body variables, as WHATSAPP_REENGAGE_PARAMS. */
  reengageParams: z.string().max(500).optional(),
  /** Minutes the bot stays quiet after the business wrote from the WhatsApp Business app (default WHATSAPP_ECHO_QUIET_MINUTES). */
  echoQuietMinutes: z.number().min(0).max(365 * 24 * 60).optional(),
}).refine((f) => f.phoneNumberId === undefined || f.phoneNumberIds.includes(f.phoneNumberId), { message: 'phoneNumberId must be one of phoneNumberIds', path: ['phoneNumberId'] });
export type WhatsAppAccountFields = z.output<typeof whatsappAccountFields>;
