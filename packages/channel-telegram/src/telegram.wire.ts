import { z } from 'zod';

/*
 * The Bot API objects the gateway reads, as core.telegram.org/bots/api documents them. Objects are
 * loose (Telegram adds fields in every Bot API release); only what the parser relies on is typed.
 */

/** @see https://core.telegram.org/bots/api#user */
export const TgUser = z.looseObject({
  id: z.number().int(),
  is_bot: z.boolean(),
  first_name: z.string(),
  last_name: z.string().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});
export type TgUser = z.infer<typeof TgUser>;

/** @see https://core.telegram.org/bots/api#chat */
export const TgChat = z.looseObject({
  id: z.number().int(),
  type: z.enum(['private', 'group', 'supergroup', 'channel']),
  title: z.string().optional(),
  username: z.string().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  is_forum: z.boolean().optional(),
});
export type TgChat = z.infer<typeof TgChat>;

/** @see https://core.telegram.org/bots/api#messageentity (offset and length count UTF-16 code units) */
export const TgEntity = z.looseObject({
  type: z.string(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  url: z.string().optional(),
  user: TgUser.optional(),
  language: z.string().optional(),
});
export type TgEntity = z.infer<typeof TgEntity>;

const FileBase = {
  file_id: z.string().min(1),
  file_unique_id: z.string().optional(),
  file_size: z.number().int().nonnegative().optional(),
};

/** @see https://core.telegram.org/bots/api#photosize */
export const TgPhotoSize = z.looseObject({ ...FileBase, width: z.number().optional(), height: z.number().optional() });
/** document, audio, voice, video, video_note and animation share these fields. */
export const TgFile = z.looseObject({
  ...FileBase,
  file_name: z.string().optional(),
  mime_type: z.string().optional(),
  duration: z.number().optional(),
  title: z.string().optional(),
  performer: z.string().optional(),
});
export type TgFile = z.infer<typeof TgFile>;
/** @see https://core.telegram.org/bots/api#sticker */
export const TgSticker = z.looseObject({ ...FileBase, type: z.string().optional(), is_animated: z.boolean().optional(), is_video: z.boolean().optional(), emoji: z.string().optional() });
/** @see https://core.telegram.org/bots/api#location */
export const TgLocation = z.looseObject({ latitude: z.number(), longitude: z.number() });
/** @see https://core.telegram.org/bots/api#venue */
export const TgVenue = z.looseObject({ location: TgLocation, title: z.string(), address: z.string() });
/** @see https://core.telegram.org/bots/api#contact */
export const TgContact = z.looseObject({ phone_number: z.string(), first_name: z.string(), last_name: z.string().optional(), user_id: z.number().int().optional() });
/** @see https://core.telegram.org/bots/api#poll */
export const TgPoll = z.looseObject({ id: z.string(), question: z.string(), options: z.array(z.looseObject({ text: z.string(), voter_count: z.number().optional() })) });

/** @see https://core.telegram.org/bots/api#message */
export const TgMessage = z.looseObject({
  message_id: z.number().int(),
  message_thread_id: z.number().int().optional(),
  is_topic_message: z.boolean().optional(),
  from: TgUser.optional(),
  sender_chat: z.looseObject({ id: z.number().int() }).optional(),
  date: z.number().int(),
  edit_date: z.number().int().optional(),
  chat: TgChat,
  forward_origin: z.unknown().optional(),
  reply_to_message: z.looseObject({ message_id: z.number().int(), from: TgUser.optional() }).optional(),
  text: z.string().optional(),
  entities: z.array(TgEntity).optional(),
  caption: z.string().optional(),
  caption_entities: z.array(TgEntity).optional(),
  reply_markup: z
    .looseObject({ inline_keyboard: z.array(z.array(z.looseObject({ text: z.string(), callback_data: z.string().optional() }))).optional() })
    .optional(),
});
export type TgMessage = z.infer<typeof TgMessage> & Record<string, unknown>;

/** @see https://core.telegram.org/bots/api#callbackquery */
export const TgCallbackQuery = z.looseObject({
  id: z.string().min(1),
  from: TgUser,
  message: z.unknown().optional(),
  data: z.string().optional(),
  game_short_name: z.string().optional(),
});

/** @see https://core.telegram.org/bots/api#chatmemberupdated */
export const TgChatMemberUpdated = z.looseObject({
  chat: TgChat,
  from: TgUser,
  date: z.number().int(),
  old_chat_member: z.looseObject({ status: z.string(), user: TgUser }),
  new_chat_member: z.looseObject({ status: z.string(), user: TgUser }),
});

/** @see https://core.telegram.org/bots/api#update — exactly one optional field is set per update. */
export const TgUpdate = z.looseObject({ update_id: z.number().int().nonnegative() });
export type TgUpdate = z.infer<typeof TgUpdate> & Record<string, unknown>;

/** The Bot API response envelope. @see https://core.telegram.org/bots/api#making-requests */
export const TgResponse = z.looseObject({
  ok: z.boolean(),
  result: z.unknown().optional(),
  description: z.string().optional(),
  error_code: z.number().int().optional(),
  parameters: z.looseObject({ retry_after: z.number().optional(), migrate_to_chat_id: z.number().optional() }).optional(),
});
export type TgResponse = z.infer<typeof TgResponse>;
