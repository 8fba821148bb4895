import { jobId, shortHash, type ConversationRef, type InboundEvent, type InboundMessage, type MediaRef, type MessageContent } from '@switchboard/core';
import type { TelegramGroupMode } from './telegram.env.js';
import { TgCallbackQuery, TgChatMemberUpdated, TgContact, TgFile, TgLocation, TgMessage, TgPhotoSize, TgPoll, TgSticker, TgUpdate, TgVenue, type TgChat, type TgEntity, type TgUser } from './telegram.wire.js';

/** Options of {@link parseUpdate}. */
export interface TelegramParseOptions {
  /** The bot's numeric id (the prefix of its token): the conversation account and the event id namespace. */
  botId: string;
  /** The bot's @username (without `@`), to recognise mentions in groups; from `getMe` or the configuration. */
  botUsername?: string;
  /** TELEGRAM_GROUP_MODE. */
  groupMode: TelegramGroupMode;
}

/** Prefix of the provider message id of a button press: `turnStarted` answers the callback query by it. */
export const CALLBACK_ID_PREFIX = 'cb:';

/** Update fields that carry a message (private and group chats). Channel posts and business messages are not answered. */
const KNOWN_IGNORED = [
  'channel_post', 'edited_channel_post', 'business_connection', 'business_message', 'edited_business_message', 'deleted_business_messages',
  'message_reaction', 'message_reaction_count', 'inline_query', 'chosen_inline_result', 'shipping_query', 'pre_checkout_query',
  'purchased_paid_media', 'poll', 'poll_answer', 'chat_member', 'chat_join_request', 'chat_boost', 'removed_chat_boost',
] as const;

/** Service messages (someone joined, the title changed, …): acknowledged, never answered. */
const SERVICE_FIELDS = [
  'new_chat_members', 'left_chat_member', 'new_chat_title', 'new_chat_photo', 'delete_chat_photo', 'group_chat_created',
  'supergroup_chat_created', 'channel_chat_created', 'migrate_to_chat_id', 'migrate_from_chat_id', 'pinned_message',
  'message_auto_delete_timer_changed', 'forum_topic_created', 'forum_topic_edited', 'forum_topic_closed', 'forum_topic_reopened',
  'video_chat_started', 'video_chat_ended', 'video_chat_scheduled', 'video_chat_participants_invited', 'write_access_allowed',
  'users_shared', 'chat_shared', 'successful_payment', 'refunded_payment', 'web_app_data', 'proximity_alert_triggered',
] as const;

/** Telegram timestamps are Unix seconds. */
const ms = (seconds: number) => seconds * 1000;

function unsupported(botId: string, updateId: number | string, providerType: string, reason: string): InboundEvent {
  return { kind: 'unsupported', eventId: jobId('tg', botId, updateId), channel: 'telegram', providerType, reason };
}

function fullName(u: { first_name?: string | undefined; last_name?: string | undefined }): string | undefined {
  return [u.first_name, u.last_name].filter(Boolean).join(' ') || undefined;
}

/** The conversation of a chat: one per private chat, one per group, one per forum topic. */
export function chatRef(botId: string, chat: TgChat, threadId?: number): ConversationRef {
  const ref: ConversationRef = { channel: 'telegram', account: botId, userId: String(chat.id) };
  // a forum topic is its own conversation; the chat id keeps the key unique across chats
  if (threadId !== undefined) ref.threadId = `${chat.id}#${threadId}`;
  const name = chat.type === 'private' ? fullName(chat) : chat.title;
  if (name) ref.displayName = name;
  // a private chat's username is the customer's own handle; a group's is the group's
  if (chat.type === 'private' && chat.username) ref.username = chat.username;
  return ref;
}

/** `<chat id>:<message id>`: Telegram message ids are unique per chat only. */
export function messageKey(chatId: number | string, messageId: number | string): string {
  return `${chatId}:${messageId}`;
}

/** Reads `<chat id>:<message id>` back; undefined for anything else (e.g. a callback id). */
export function parseMessageKey(key: string | undefined): { chatId: string; messageId: number } | undefined {
  const m = key === undefined ? null : /^(-?\d+):(\d+)$/.exec(key);
  return m ? { chatId: m[1]!, messageId: Number(m[2]) } : undefined;
}

/** Reads a forum topic conversation's `threadId` (`<chat id>#<topic id>`) back to the topic id. */
export function topicOf(ref: Pick<ConversationRef, 'threadId'>): number | undefined {
  const m = ref.threadId === undefined ? null : /^-?\d+#(\d+)$/.exec(ref.threadId);
  return m ? Number(m[1]) : undefined;
}

function file(f: { file_id: string; file_size?: number | undefined }, extra: Partial<MediaRef> = {}): MediaRef {
  const out: MediaRef = { mediaId: f.file_id, ...extra };
  if (f.file_size !== undefined) out.sizeBytes = f.file_size;
  return out;
}

function withCaption(ref: MediaRef, caption: string | undefined): MediaRef {
  if (caption) ref.caption = caption;
  return ref;
}

function tgFile(raw: unknown, caption: string | undefined): MediaRef | undefined {
  const f = TgFile.safeParse(raw);
  if (!f.success) return undefined;
  const ref = file(f.data);
  if (f.data.mime_type) ref.mimeType = f.data.mime_type;
  if (f.data.file_name) ref.filename = f.data.file_name;
  return withCaption(ref, caption);
}

/** Normalizes the content of one message by which field is set; unknown or malformed content becomes `unsupported`. */
export function parseContent(m: TgMessage, text: string | undefined): MessageContent {
  const caption = m.caption;
  const bad = (type: string): MessageContent => ({ type: 'unsupported', providerType: type, reason: `malformed ${type}` });
  if (text !== undefined) return { type: 'text', text };
  if (m.photo !== undefined) {
    const sizes = Array.isArray(m.photo) ? m.photo.map((p) => TgPhotoSize.safeParse(p)).filter((p) => p.success).map((p) => p.data) : [];
    // PhotoSize[] is ordered from the smallest thumbnail to the original
    const largest = sizes[sizes.length - 1];
    if (!largest) return bad('photo');
    return { type: 'image', media: withCaption(file(largest, { mimeType: 'image/jpeg' }), caption) };
  }
  if (m.voice !== undefined) {
    const media = tgFile(m.voice, caption);
    return media ? { type: 'audio', media: { mimeType: 'audio/ogg', ...media }, voice: true } : bad('voice');
  }
  if (m.audio !== undefined) {
    const media = tgFile(m.audio, caption);
    return media ? { type: 'audio', media, voice: false } : bad('audio');
  }
  if (m.video_note !== undefined) {
    const media = tgFile(m.video_note, caption);
    return media ? { type: 'video', media: { mimeType: 'video/mp4', ...media } } : bad('video_note');
  }
  if (m.video !== undefined) {
    const media = tgFile(m.video, caption);
    return media ? { type: 'video', media } : bad('video');
  }
  // an animation (GIF as MP4) also carries `document` for old clients: read it as the video it is
  if (m.animation !== undefined) {
    const media = tgFile(m.animation, caption);
    return media ? { type: 'video', media } : bad('animation');
  }
  if (m.document !== undefined) {
    const media = tgFile(m.document, caption);
    return media ? { type: 'document', media } : bad('document');
  }
  if (m.sticker !== undefined) {
    const s = TgSticker.safeParse(m.sticker);
    if (!s.success) return bad('sticker');
    const mimeType = s.data.is_animated ? 'application/x-tgsticker' : s.data.is_video ? 'video/webm' : 'image/webp';
    return { type: 'sticker', media: file(s.data, { mimeType }), animated: Boolean(s.data.is_animated || s.data.is_video) };
  }
  // a venue message also carries `location`: read the venue first
  if (m.venue !== undefined) {
    const v = TgVenue.safeParse(m.venue);
    if (!v.success) return bad('venue');
    return { type: 'location', latitude: v.data.location.latitude, longitude: v.data.location.longitude, name: v.data.title, address: v.data.address };
  }
  if (m.location !== undefined) {
    const l = TgLocation.safeParse(m.location);
    return l.success ? { type: 'location', latitude: l.data.latitude, longitude: l.data.longitude } : bad('location');
  }
  if (m.contact !== undefined) {
    const c = TgContact.safeParse(m.contact);
    if (!c.success) return bad('contact');
    const entry: { name: string; phones: string[]; userId?: string } = { name: fullName(c.data) ?? c.data.phone_number, phones: [c.data.phone_number] };
    if (c.data.user_id !== undefined) entry.userId = String(c.data.user_id);
    return { type: 'contacts', contacts: [entry] };
  }
  if (m.poll !== undefined) {
    const p = TgPoll.safeParse(m.poll);
    if (!p.success) return bad('poll');
    return { type: 'card', cardType: 'poll', summary: `${p.data.question} (${p.data.options.map((o) => o.text).join(' / ')})`, data: { pollId: p.data.id } };
  }
  const service = SERVICE_FIELDS.find((f) => m[f] !== undefined);
  if (service) return { type: 'unsupported', providerType: `message.${service}`, reason: 'service message' };
  const other = ['dice', 'game', 'story', 'invoice', 'paid_media', 'giveaway', 'giveaway_winners', 'checklist'].find((f) => m[f] !== undefined);
  return { type: 'unsupported', providerType: other ? `message.${other}` : 'message', reason: 'message type not handled by the gateway' };
}

function isMention(e: TgEntity, body: string, botId: string, username: string | undefined): boolean {
  if (e.type === 'text_mention') return e.user !== undefined && String(e.user.id) === botId;
  if (!username) return false;
  const part = body.slice(e.offset, e.offset + e.length).toLowerCase();
  if (e.type === 'mention') return part === `@${username.toLowerCase()}`;
  if (e.type === 'bot_command') return part.endsWith(`@${username.toLowerCase()}`);
  return false;
}

/** Removes mentions of the bot from a group message (`@shop_bot hello` → `hello`). */
function stripMentions(body: string, entities: TgEntity[], botId: string, username: string | undefined): string {
  let out = body;
  for (const e of [...entities].sort((a, b) => b.offset - a.offset)) {
    if (e.type === 'mention' && isMention(e, body, botId, username)) out = out.slice(0, e.offset) + out.slice(e.offset + e.length);
    if (e.type === 'bot_command' && isMention(e, body, botId, username)) out = out.slice(0, e.offset + e.length - (username?.length ?? 0) - 1) + out.slice(e.offset + e.length);
  }
  return out.replace(/^[\s,:]+/, '').replace(/\s{2,}/g, ' ').trim();
}

/** True when a group message is addressed to the bot: a mention, a command to it, or a reply to one of its messages. */
function addressedToBot(m: TgMessage, botId: string, username: string | undefined): boolean {
  if (m.reply_to_message?.from && String(m.reply_to_message.from.id) === botId) return true;
  const body = m.text ?? m.caption ?? '';
  const entities = m.entities ?? m.caption_entities ?? [];
  return entities.some((e) => isMention(e, body, botId, username));
}

function senderName(from: TgUser | undefined): string | undefined {
  return from ? fullName(from) ?? from.username : undefined;
}

function parseMessage(updateId: number, raw: unknown, field: 'message' | 'edited_message', opts: TelegramParseOptions, receivedAt: number): InboundEvent {
  const parsed = TgMessage.safeParse(raw);
  if (!parsed.success) return unsupported(opts.botId, updateId, field, `malformed ${field}`);
  const m = parsed.data as TgMessage;
  const chat = m.chat;
  if (chat.type === 'channel') return unsupported(opts.botId, updateId, `${field}.channel`, 'channel posts are not answered');
  if (m.from?.is_bot) return unsupported(opts.botId, updateId, field, 'messages of other bots are not answered');
  const group = chat.type !== 'private';
  let text = m.text;
  if (group) {
    if (opts.groupMode === 'off') return unsupported(opts.botId, updateId, `${field}.group`, 'group chats are off (TELEGRAM_GROUP_MODE=off)');
    if (opts.groupMode === 'mention' && !addressedToBot(m, opts.botId, opts.botUsername)) {
      return unsupported(opts.botId, updateId, `${field}.group`, 'group message not addressed to the bot');
    }
    if (text !== undefined) text = stripMentions(text, m.entities ?? [], opts.botId, opts.botUsername);
  }
  const ref = chatRef(opts.botId, chat, m.is_topic_message ? m.message_thread_id : undefined);
  let content = parseContent(m, text);
  if (field === 'edited_message') {
    // an edit is recorded for the agent's context, never answered on its own (a `system` content)
    const now = content.type === 'text' ? content.text : content.type === 'unsupported' ? `[${content.providerType}]` : `[${content.type}]`;
    content = { type: 'system', systemType: 'edited_message', text: `the customer edited an earlier message to: ${now}` };
  }
  if (group && content.type === 'text') {
    const who = senderName(m.from);
    if (who) content = { ...content, text: `${who}: ${content.text}` };
  }
  const event: InboundMessage = {
    kind: 'message',
    eventId: jobId('tg', opts.botId, updateId),
    providerMessageId: field === 'edited_message' ? `${messageKey(chat.id, m.message_id)}:e${m.edit_date ?? updateId}` : messageKey(chat.id, m.message_id),
    conversation: ref,
    sentAt: ms(field === 'edited_message' ? m.edit_date ?? m.date : m.date),
    receivedAt,
    content,
    author: 'customer',
  };
  if (m.reply_to_message) event.replyToProviderMessageId = messageKey(chat.id, m.reply_to_message.message_id);
  if (m.forward_origin !== undefined) event.forwarded = true;
  return event;
}

function parseCallback(updateId: number, raw: unknown, opts: TelegramParseOptions, receivedAt: number): InboundEvent {
  const parsed = TgCallbackQuery.safeParse(raw);
  if (!parsed.success) return unsupported(opts.botId, updateId, 'callback_query', 'malformed callback_query');
  const q = parsed.data;
  if (q.data === undefined) return unsupported(opts.botId, updateId, 'callback_query', q.game_short_name ? 'game callbacks are not handled' : 'callback without data');
  // the message is absent for buttons of inline-mode messages, and an InaccessibleMessage (date 0) when too old
  const message = TgMessage.safeParse(q.message);
  const ref = message.success ? chatRef(opts.botId, message.data.chat, message.data.is_topic_message ? message.data.message_thread_id : undefined) : ({ channel: 'telegram', account: opts.botId, userId: String(q.from.id) } as ConversationRef);
  if (!message.success) {
    const name = senderName(q.from);
    if (name) ref.displayName = name;
  }
  const buttons = message.success ? (message.data.reply_markup?.inline_keyboard ?? []).flat() : [];
  const title = buttons.find((b) => b.callback_data === q.data)?.text ?? q.data;
  const event: InboundMessage = {
    kind: 'message',
    eventId: jobId('tg', opts.botId, updateId),
    providerMessageId: `${CALLBACK_ID_PREFIX}${q.id}`,
    conversation: ref,
    sentAt: receivedAt,
    receivedAt,
    content: { type: 'interactive', interaction: 'button_reply', id: q.data, title },
    author: 'customer',
  };
  if (message.success) event.replyToProviderMessageId = messageKey(message.data.chat.id, message.data.message_id);
  return event;
}

function parseMyChatMember(updateId: number, raw: unknown, opts: TelegramParseOptions): InboundEvent {
  const parsed = TgChatMemberUpdated.safeParse(raw);
  if (!parsed.success) return unsupported(opts.botId, updateId, 'my_chat_member', 'malformed my_chat_member');
  const u = parsed.data;
  const before = u.old_chat_member.status;
  const after = u.new_chat_member.status;
  const base = { kind: 'signal' as const, eventId: jobId('tg', opts.botId, updateId), conversation: chatRef(opts.botId, u.chat), at: ms(u.date) };
  if (u.chat.type === 'private') {
    // in a private chat `kicked` means the user blocked the bot; `member` again means unblocked (or /start)
    if (after === 'kicked') return { ...base, signal: 'blocked', detail: { from: before } };
    if (after === 'member' && before === 'kicked') return { ...base, signal: 'unblocked', detail: { from: before } };
    return unsupported(opts.botId, updateId, 'my_chat_member', `status ${before} → ${after} in a private chat`);
  }
  return { ...base, signal: 'info', detail: { event: 'bot_membership', from: before, to: after, chatType: u.chat.type } };
}

/**
 * Returns the event of one Bot API Update (an update carries exactly one kind). Event ids are
 * `tg-<bot id>-<update_id>`: Telegram redelivers the same update until it gets a 2xx, so the id
 * dedupes redeliveries. Nothing is dropped: kinds the gateway does not act on come back as
 * `unsupported` events.
 * @see https://core.telegram.org/bots/api#update
 */
export function parseUpdate(payload: unknown, opts: TelegramParseOptions, ctx: { receivedAt: number }): InboundEvent[] {
  const envelope = TgUpdate.safeParse(payload);
  if (!envelope.success) {
    const seed = shortHash(JSON.stringify(payload ?? null).slice(0, 2000), 24);
    return [{ kind: 'unsupported', eventId: jobId('tg-x', opts.botId, seed), channel: 'telegram', providerType: 'update', reason: 'not a Telegram Update (no update_id)' }];
  }
  const u = envelope.data as TgUpdate;
  const id = u.update_id;
  if (u.message !== undefined) return [parseMessage(id, u.message, 'message', opts, ctx.receivedAt)];
  if (u.edited_message !== undefined) return [parseMessage(id, u.edited_message, 'edited_message', opts, ctx.receivedAt)];
  if (u.callback_query !== undefined) return [parseCallback(id, u.callback_query, opts, ctx.receivedAt)];
  if (u.my_chat_member !== undefined) return [parseMyChatMember(id, u.my_chat_member, opts)];
  const known = KNOWN_IGNORED.find((f) => u[f] !== undefined);
  if (known) return [unsupported(opts.botId, id, known, 'update kind not handled by the gateway')];
  const field = Object.keys(u).find((k) => k !== 'update_id');
  return [unsupported(opts.botId, id, field ?? 'update', field ? 'unknown update kind' : 'update without content')];
}
