import { z } from 'zod';
import { shortHash } from './ids.js';

/** Channels the gateway speaks. Adding one here forces every channel registry to be updated. */
export const ChannelId = z.enum(['whatsapp', 'wechat-kf', 'chatwoot', 'telegram']);
export type ChannelId = z.infer<typeof ChannelId>;

/**
 * Who a conversation is with, on which sending account.
 * - WhatsApp: account = phone_number_id, userId = parent_user_id ?? user_id ?? wa_id.
 * - WeChat Kefu: account = open_kfid, userId = external_userid.
 * - Chatwoot: account = `${accountId}`, userId = contact id, threadId = conversation display id.
 * - Telegram: account = bot id (the numeric prefix of the token), userId = chat id, threadId = forum topic id.
 */
export const ConversationRef = z.object({
  channel: ChannelId,
  /**
   * The gateway account serving the conversation (an `ACCOUNTS_FILE` id, stamped by the ingress
   * route that received it); absent = `default`, the account of the channel's environment variables.
   */
  accountId: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(),
  account: z.string().min(1),
  userId: z.string().min(1),
  /** Where a reply must be addressed when it differs from userId (WhatsApp: the wa_id, else the BSUID). */
  address: z.string().min(1).optional(),
  threadId: z.string().min(1).optional(),
  displayName: z.string().optional(),
  /** The customer's public handle on the channel, without `@` (Telegram username, WhatsApp username of 2026). */
  username: z.string().optional(),
  phone: z.string().optional(),
});
export type ConversationRef = z.infer<typeof ConversationRef>;

type ConversationKeyParts = Pick<ConversationRef, 'channel' | 'account' | 'userId' | 'threadId'> & { readonly accountId?: string | undefined };

/**
 * The stable key of a conversation: one mailbox, one turn at a time. Two gateway accounts never
 * share a conversation (two Chatwoot instances may both have account "1"); the `default` account
 * keeps the key it always had.
 */
export function conversationKey(ref: ConversationKeyParts): string {
  const account = ref.accountId && ref.accountId !== 'default' ? `${ref.accountId}/${ref.account}` : ref.account;
  return `${ref.channel}|${account}|${ref.threadId ?? ref.userId}`;
}

/** Hashed conversation key, safe for job ids, Redis keys and logs (no raw phone numbers). */
export function conversationId(ref: ConversationKeyParts): string {
  return `${ref.channel}-${shortHash(conversationKey(ref), 20)}`;
}

/**
 * A customer across their conversations on one sending account (hashed; no raw ids in keys): the
 * agent's profile and rate-limit keys and the erasure procedure use it. A gateway account other
 * than `default` keeps its own customers (two brands never share a profile).
 */
export function customerId(ref: Pick<ConversationRef, 'channel' | 'account' | 'userId'> & { readonly accountId?: string | undefined }): string {
  const account = ref.accountId && ref.accountId !== 'default' ? `${ref.accountId}/${ref.account}` : ref.account;
  return `${ref.channel}-${shortHash(`${ref.channel}|${account}|${ref.userId}`, 20)}`;
}

/** A reference to provider-hosted media, downloaded later by the media pipeline. */
export const MediaRef = z.object({
  mediaId: z.string().optional(),
  url: z.string().optional(),
  mimeType: z.string().optional(),
  sha256: z.string().optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
  filename: z.string().optional(),
  caption: z.string().optional(),
});
export type MediaRef = z.infer<typeof MediaRef>;

const Text = z.object({ type: z.literal('text'), text: z.string(), menuId: z.string().optional() });
const Image = z.object({ type: z.literal('image'), media: MediaRef });
const Audio = z.object({ type: z.literal('audio'), media: MediaRef, voice: z.boolean() });
const Video = z.object({ type: z.literal('video'), media: MediaRef });
const Document = z.object({ type: z.literal('document'), media: MediaRef });
const Sticker = z.object({ type: z.literal('sticker'), media: MediaRef, animated: z.boolean().optional() });
const Location = z.object({
  type: z.literal('location'),
  latitude: z.number(),
  longitude: z.number(),
  name: z.string().optional(),
  address: z.string().optional(),
  url: z.string().optional(),
});
const Contacts = z.object({
  type: z.literal('contacts'),
  contacts: z.array(z.object({ name: z.string(), phones: z.array(z.string()), userId: z.string().optional() })),
});
/** Button/list taps, flow replies, template quick replies and Chatwoot rich-message answers. */
const Interactive = z.object({
  type: z.literal('interactive'),
  interaction: z.enum(['button_reply', 'list_reply', 'nfm_reply', 'button', 'submitted_values']),
  id: z.string().optional(),
  title: z.string(),
  description: z.string().optional(),
  response: z.unknown().optional(),
});
const Reaction = z.object({ type: z.literal('reaction'), targetMessageId: z.string(), emoji: z.string().optional() });
const Order = z.object({
  type: z.literal('order'),
  catalogId: z.string().optional(),
  text: z.string().optional(),
  items: z.array(z.object({ productId: z.string(), quantity: z.number(), price: z.number().optional(), currency: z.string().optional() })),
});
const Link = z.object({ type: z.literal('link'), title: z.string().optional(), description: z.string().optional(), url: z.string() });
const Card = z.object({ type: z.literal('card'), cardType: z.string(), summary: z.string(), data: z.unknown().optional() });
const Merged = z.object({
  type: z.literal('merged'),
  title: z.string().optional(),
  items: z.array(z.object({ sender: z.string().optional(), text: z.string(), sentAt: z.number().optional() })),
});
const System = z.object({ type: z.literal('system'), text: z.string(), systemType: z.string().optional(), newUserId: z.string().optional() });
/** Anything the parser did not recognise. Kept (never dropped) so it is logged, counted and visible. */
const Unsupported = z.object({ type: z.literal('unsupported'), providerType: z.string(), reason: z.string().optional() });

/** The normalized content of one customer message. */
export const MessageContent = z.discriminatedUnion('type', [
  Text, Image, Audio, Video, Document, Sticker, Location, Contacts, Interactive, Reaction, Order, Link, Card, Merged, System, Unsupported,
]);
export type MessageContent = z.infer<typeof MessageContent>;

/**
 * Where a conversation came from when the customer tapped an ad or post (WhatsApp Click-to-WhatsApp
 * `referral`, sent with the first message after the click). Context for the agent, never an instruction.
 */
export const Referral = z.object({
  sourceType: z.string().optional(),
  sourceId: z.string().optional(),
  sourceUrl: z.string().optional(),
  headline: z.string().optional(),
  body: z.string().optional(),
  mediaType: z.string().optional(),
  ctwaClid: z.string().optional(),
  welcomeText: z.string().optional(),
});
export type Referral = z.infer<typeof Referral>;

/** A customer (or, for Chatwoot, a conversation participant) message. */
export const InboundMessage = z.object({
  kind: z.literal('message'),
  /** Deterministic, job-id-safe id derived from the provider message id. */
  eventId: z.string().min(1),
  providerMessageId: z.string().min(1),
  conversation: ConversationRef,
  /** Provider timestamp, ms since epoch. */
  sentAt: z.number(),
  receivedAt: z.number(),
  content: MessageContent,
  replyToProviderMessageId: z.string().optional(),
  forwarded: z.boolean().optional(),
  /**
   * Set when this message is the customer's edit of an earlier message (its provider id). An edit
   * of a message still waiting in the pending turn replaces it there instead (see Mailbox.replacePending).
   */
  editOf: z.string().optional(),
  /** Ad or post the customer came from (WhatsApp Click-to-WhatsApp). */
  referral: Referral.optional(),
  /** What the media pipeline made of the message's media (filled in by the turn before the agent runs). */
  enrichment: z
    .object({
      /** Speech-to-text of a voice note / audio / video sound track. */
      transcript: z.string().optional(),
      /** Extracted text of a document (PDF, plain text), size-capped. */
      text: z.string().optional(),
      /** An image for a vision model, as a data: URL. */
      imageDataUrl: z.string().optional(),
      /** A short factual note for the agent ("video, 12 s, 3.4 MB"). */
      note: z.string().optional(),
      /** Why the media could not be read (too large, expired, unsupported…); the agent is told. */
      error: z.string().optional(),
    })
    .optional(),
  /** Who wrote it: the customer (default), a human agent, or the business itself. */
  author: z.enum(['customer', 'human_agent', 'business']).default('customer'),
  /**
   * Set when the message is only to be kept in the record, never acted on (the value says why): a
   * customer message the provider says the bot must not answer (a Chatwoot conversation a person
   * owns), or a human agent's reply whose ownership change travels as a signal beside it. It never
   * enters a mailbox, starts a turn or changes the owner.
   */
  recordOnly: z.string().min(1).optional(),
});
export type InboundMessage = z.infer<typeof InboundMessage>;

/** Delivery states ranked so a late status never downgrades a newer one. `failed` is terminal. */
export const DeliveryStatus = z.enum(['accepted', 'sent', 'delivered', 'read', 'played', 'failed']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;
export const DELIVERY_RANK: Record<DeliveryStatus, number> = { accepted: 0, sent: 1, delivered: 2, read: 3, played: 4, failed: 100 };

/** A delivery status of a message the gateway sent. */
export const InboundStatus = z.object({
  kind: z.literal('status'),
  eventId: z.string().min(1),
  channel: ChannelId,
  /** The gateway account (see {@link ConversationRef}); absent = `default`. */
  accountId: z.string().optional(),
  account: z.string(),
  providerMessageId: z.string().min(1),
  status: DeliveryStatus,
  at: z.number(),
  recipient: z.string().optional(),
  /** Echo of what the gateway set on send (WhatsApp `biz_opaque_callback_data`). */
  correlation: z.string().optional(),
  errors: z.array(z.object({ code: z.number(), title: z.string().optional(), detail: z.string().optional() })).default([]),
});
export type InboundStatus = z.infer<typeof InboundStatus>;

/** A change of who owns a conversation, or another conversation-level event. */
export const ConversationSignal = z.object({
  kind: z.literal('signal'),
  eventId: z.string().min(1),
  conversation: ConversationRef,
  at: z.number(),
  /**
   * `blocked`/`unblocked`: the customer blocked or unblocked the bot (Telegram `my_chat_member`); sends would fail.
   * `opted_out`/`opted_in`: the customer stopped or resumed business-initiated messages through the
   * provider (WhatsApp `user_preferences`, marketing messages); API messages and broadcasts are refused meanwhile.
   */
  signal: z.enum(['human_took_over', 'bot_resumed', 'session_ended', 'session_started', 'send_failed', 'recalled', 'info', 'blocked', 'unblocked', 'opted_out', 'opted_in']),
  detail: z.record(z.string(), z.unknown()).default({}),
});
export type ConversationSignal = z.infer<typeof ConversationSignal>;

/** A provider event the gateway does not act on. Acknowledged, logged and counted. */
export const UnsupportedEvent = z.object({
  kind: z.literal('unsupported'),
  eventId: z.string().min(1),
  channel: ChannelId,
  /** The gateway account (see {@link ConversationRef}); absent = `default`. */
  accountId: z.string().optional(),
  providerType: z.string(),
  reason: z.string(),
  /** The conversation, when the event is a message of a known customer. */
  conversation: ConversationRef.optional(),
  providerMessageId: z.string().optional(),
  /**
   * True for genuine customer content the gateway cannot read (a poll, an unknown type): it may get
   * the one-time "can't read that" notice. False/absent for system noise (a deleted message, a
   * welcome request, an echo), which is never answered.
   */
  customerContent: z.boolean().optional(),
});
export type UnsupportedEvent = z.infer<typeof UnsupportedEvent>;

/** Everything an ingress puts on the `inbound` queue. */
export const InboundEvent = z.discriminatedUnion('kind', [InboundMessage, InboundStatus, ConversationSignal, UnsupportedEvent]);
export type InboundEvent = z.infer<typeof InboundEvent>;

/** An option the customer can pick (buttons, lists, input_select, numbered text). */
export const ReplyOption = z.object({ id: z.string(), title: z.string(), description: z.string().optional() });
export type ReplyOption = z.infer<typeof ReplyOption>;

/** Media the agent wants to send. */
export const ReplyMedia = z.object({
  kind: z.enum(['image', 'audio', 'video', 'document']),
  url: z.string(),
  mimeType: z.string().optional(),
  filename: z.string().optional(),
  caption: z.string().optional(),
});
export type ReplyMedia = z.infer<typeof ReplyMedia>;

/**
 * A rich message: Chatwoot renders `cards` and `form` natively (`content_type` cards/form); other
 * channels ignore it and send `Reply.text`, which must therefore stand on its own.
 * @see https://www.chatwoot.com/docs/product/others/interactive-messages
 */
export const ReplyRich = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('cards'),
    cards: z
      .array(
        z.object({
          title: z.string(),
          description: z.string().optional(),
          mediaUrl: z.string().optional(),
          actions: z
            .array(
              z.union([
                z.object({ type: z.literal('link'), text: z.string(), uri: z.string() }),
                z.object({ type: z.literal('postback'), text: z.string(), payload: z.string() }),
              ]),
            )
            .min(1),
        }),
      )
      .min(1),
  }),
  z.object({
    kind: z.literal('form'),
    fields: z
      .array(
        z.object({
          name: z.string(),
          type: z.enum(['text', 'text_area', 'email', 'select']),
          label: z.string(),
          placeholder: z.string().optional(),
          default: z.string().optional(),
          required: z.boolean().optional(),
          options: z.array(z.object({ label: z.string(), value: z.string() })).optional(),
        }),
      )
      .min(1),
  }),
]);
export type ReplyRich = z.infer<typeof ReplyRich>;

/** One variable's value in a template component: `name` for named variables (`{{first_name}}`), absent for positional ones. */
export const TemplateValue = z.object({ name: z.string().max(64).optional(), text: z.string().max(1024) });
export type TemplateValue = z.infer<typeof TemplateValue>;

/**
 * A filled component of a template send, in the provider's order: the header (text variables, or a
 * media link for a media header), the body's variables, and each button that takes a value (by its
 * position in the template). Resolved against the channel's template catalogue before queueing.
 */
export const TemplateComponentValue = z.discriminatedUnion('part', [
  z.object({ part: z.literal('header'), values: z.array(TemplateValue).max(1) }),
  z.object({ part: z.literal('header-media'), kind: z.enum(['image', 'video', 'document']), url: z.string().max(2048), filename: z.string().max(240).optional() }),
  z.object({ part: z.literal('body'), values: z.array(TemplateValue).max(100) }),
  z.object({ part: z.literal('button'), index: z.number().int().min(0).max(9), type: z.enum(['url', 'quick_reply', 'copy_code']), value: z.string().max(2000) }),
]);
export type TemplateComponentValue = z.infer<typeof TemplateComponentValue>;

/** A template message (WhatsApp): name, language and the filled components (none for a template without variables). */
export const ReplyTemplate = z.object({
  name: z.string().min(1).max(512),
  language: z.string().min(2).max(15),
  components: z.array(TemplateComponentValue).max(12).optional(),
});
export type ReplyTemplate = z.infer<typeof ReplyTemplate>;

/** What the agent (or a human relayed from Chatwoot) says back: channel-neutral Markdown. */
export const Reply = z.object({
  text: z.string(),
  /** Optional card/form rendition for channels that support it (Chatwoot); `text` is the fallback. */
  rich: ReplyRich.optional(),
  options: z.array(ReplyOption).optional(),
  media: z.array(ReplyMedia).optional(),
  /** A template to send instead of free text (WhatsApp: outside the 24 h window, business-started conversations). */
  template: ReplyTemplate.optional(),
});
export type Reply = z.infer<typeof Reply>;
