import { z } from 'zod';

/**
 * Wire shapes of the 微信客服 API, validated at the boundary. Unknown fields are stripped; unknown
 * message and event types still parse (they become `unsupported`, never errors).
 * @see https://developer.work.weixin.qq.com/document/path/94670 (sync_msg)
 * @see https://developer.work.weixin.qq.com/document/path/96427 (send_msg)
 */

/** Every API answer carries these; `errcode` 0 is success. Error bodies may carry other fields (`msg_list: []`). */
export const ApiStatus = z.object({ errcode: z.number().int().default(0), errmsg: z.string().default('') });
export type ApiStatus = z.infer<typeof ApiStatus>;

export const TokenResponse = z.object({ access_token: z.string().min(1), expires_in: z.number().int().positive() });

const str = z.string().optional();
const num = z.coerce.number().optional();

/** An event item (`msgtype: event`, origin 4): ids sit inside `event`, not at the top level. */
export const KfEvent = z.object({
  event_type: z.string(),
  open_kfid: str,
  external_userid: str,
  scene: str,
  scene_param: str,
  welcome_code: str,
  fail_msgid: str,
  fail_type: num,
  servicer_userid: str,
  status: num,
  stop_type: num,
  change_type: num,
  old_servicer_userid: str,
  new_servicer_userid: str,
  msg_code: str,
  recall_msgid: str,
  reject_switch: num,
});
export type KfEvent = z.infer<typeof KfEvent>;

/** One item of `msg_list`. The body object is named after `msgtype` and read by the normalizer. */
export const KfMessage = z
  .object({
    msgid: z.string().min(1),
    send_time: z.coerce.number().default(0),
    origin: z.coerce.number().int(),
    msgtype: z.string().min(1),
    open_kfid: str,
    external_userid: str,
    servicer_userid: str,
    event: KfEvent.optional(),
  })
  .catchall(z.unknown());
export type KfMessage = z.infer<typeof KfMessage>;

/** `kf/sync_msg` success body. Items that do not even have a msgid are counted, not fatal. */
export const SyncMsgResponse = z.object({
  next_cursor: z.string().default(''),
  has_more: z.coerce.number().int().default(0),
  msg_list: z.array(z.unknown()).default([]),
});
export type SyncMsgResponse = z.infer<typeof SyncMsgResponse>;

/** `kf/sync_msg` request body. */
export interface SyncMsgRequest {
  cursor?: string;
  token?: string;
  limit: number;
  voice_format: 0 | 1;
  open_kfid?: string;
}

export const SendMsgResponse = z.object({ msgid: z.string().optional() });

export const ServiceStateResponse = z.object({ service_state: z.coerce.number().int(), servicer_userid: str });
export const TransResponse = z.object({ msg_code: str });

/** One customer of `kf/customer/batchget` (third-party apps get no avatar, gender or unionid). (provider doc §8) */
export const WechatCustomer = z.looseObject({
  external_userid: z.string().min(1),
  nickname: z.string().optional(),
  avatar: z.string().optional(),
  gender: num,
  unionid: str,
});
export type WechatCustomer = z.infer<typeof WechatCustomer>;

/** `kf/customer/batchget`: found customers, and the ids WeCom would not resolve (not active in the last 48 h, or unknown). */
export const CustomerBatchGetResponse = z.object({
  customer_list: z.array(WechatCustomer).default([]),
  invalid_external_userid: z.array(z.string()).default([]),
});
export const MediaUploadResponse = z.object({ type: str, media_id: z.string().min(1), created_at: z.union([z.string(), z.number()]).optional() });

/** A text part of a send. */
export interface TextBody {
  msgtype: 'text';
  text: { content: string };
}
/** A click menu (options). */
export interface MenuBody {
  msgtype: 'msgmenu';
  msgmenu: { head_content?: string; list: Array<{ type: 'click'; click: { id: string; content: string } }>; tail_content?: string };
}
/** Media sent by id from `media/upload`. */
export interface MediaBody {
  msgtype: 'image' | 'voice' | 'video' | 'file';
  image?: { media_id: string };
  voice?: { media_id: string };
  video?: { media_id: string };
  file?: { media_id: string };
}
/** What `send_msg` / `send_msg_on_event` can carry here. */
export type MessageBody = TextBody | MenuBody | MediaBody;

/** Meaning of `msg_send_fail.fail_type`. */
export const FAIL_TYPES: Record<number, string> = {
  0: 'unknown',
  1: 'kf account deleted',
  2: 'app closed',
  4: 'session expired (over 48 h)',
  5: 'session closed',
  6: 'over the 5-message limit',
  7: 'channels account not bound',
  8: 'subject not verified',
  9: 'channels account not bound and subject not verified',
  10: 'user rejected messages',
  11: 'no member logged in',
  12: 'message type banned',
  13: 'content blocked by security check',
};
