import { FetchRefusedError, FetchTooLargeError, GuardedFetcher } from '@switchboard/fetch';
import {
  conversationId,
  GatewayError,
  ProviderRejectedError,
  ProviderUnavailableError,
  shortHash,
  type ConversationRef,
  type Logger,
  type OutboundAdapter,
  type OutboundPart,
  type ReplyMedia,
  type SendContext,
} from '@switchboard/core';
import type { GatewayKeys, RedisClient } from '@switchboard/queue';
import type { WechatApiClient, WechatMediaType } from './wechat.client.js';
import { DEFAULT_RENDER_OPTIONS, fitText, renderWechatReply, WECHAT_MENU_HEAD_MAX_BYTES, WECHAT_TEXT_MAX_BYTES } from './wechat.format.js';
import { SendAllowance, ServicerStatus } from './wechat.state.js';
import type { MessageBody } from './wechat.wire.js';

/**
 * The 微信客服 outbound adapter: render (plain text, ≤ 2048 bytes, ≤ the allowance), send one part
 * with a deterministic `msgid`, hand a session to humans.
 * @see https://developer.work.weixin.qq.com/document/path/96427
 * @see https://developer.work.weixin.qq.com/document/path/94669
 */

export interface WechatOutboundOptions {
  readonly client: WechatApiClient;
  /** The gateway account (default `default`): its servicers' receiving states are its own. */
  readonly accountId?: string;
  readonly redis: RedisClient;
  readonly keys: GatewayKeys;
  readonly log: Logger;
  /** Messages per reply (≤ 5); default 4 leaves one for a notice. */
  readonly maxPartsPerReply?: number;
  /** Servicer userid for handoffs; unset = the WeCom queue. */
  readonly handoffServicer?: string;
  /** Largest media file fetched for upload. */
  readonly maxMediaBytes?: number;
  /** Fetches reply media from its URL (public addresses and FETCH_ALLOWED_ORIGINS only); default: a fetcher with no allowed origins. */
  readonly fetcher?: GuardedFetcher;
  /** Injectable clock. */
  readonly now?: () => number;
}

const MSGID_RE = /^[0-9a-zA-Z_-]{1,32}$/;
/** Same horizon as the inbound role's ownership records (30 days). */
const HUMAN_OWNER_TTL_SEC = 30 * 24 * 3600;

/**
 * The `send_msg.msgid` of one part: `gw` + 30 hex chars of sha256(outboundId|partIndex). Unique per
 * part, identical on every retry, so WeCom can recognise a re-sent part.
 */
export function wechatMsgid(outboundId: string, partIndex: number): string {
  const id = `gw${shortHash(`${outboundId}|${partIndex}`, 30)}`;
  if (!MSGID_RE.test(id)) throw new Error(`msgid ${id} violates the WeCom format`);
  return id;
}

/** Size caps of `media/upload` per type. */
const UPLOAD_LIMITS: Record<WechatMediaType, number> = { image: 10 << 20, voice: 2 << 20, video: 10 << 20, file: 20 << 20 };

function wechatMediaType(media: ReplyMedia): WechatMediaType {
  const mime = (media.mimeType ?? '').toLowerCase();
  const url = media.url.toLowerCase().split('?')[0] ?? '';
  switch (media.kind) {
    case 'image':
      return /jpe?g|png/.test(mime) || /\.(jpe?g|png)$/.test(url) || !mime ? 'image' : 'file';
    case 'audio':
      // WeChat voice messages must be AMR; anything else goes as a file
      return mime.includes('amr') || url.endsWith('.amr') ? 'voice' : 'file';
    case 'video':
      return mime.includes('mp4') || url.endsWith('.mp4') || !mime ? 'video' : 'file';
    default:
      return 'file';
  }
}

/** Creates the adapter the generic outbound worker drives. */
export function createWechatOutboundAdapter(opts: WechatOutboundOptions): OutboundAdapter {
  const maxParts = Math.max(1, Math.min(5, opts.maxPartsPerReply ?? DEFAULT_RENDER_OPTIONS.maxParts));
  const allowance = new SendAllowance(opts.redis, opts.keys);
  const servicers = new ServicerStatus(opts.redis, opts.keys, opts.accountId);
  const now = opts.now ?? Date.now;
  const maxMediaBytes = opts.maxMediaBytes ?? 20 << 20;
  const fetcher = opts.fetcher ?? new GuardedFetcher({ timeoutMs: 30_000, maxBytes: maxMediaBytes });

  /** Reply media named by URL is fetched like any outside URL (guarded, never with the WeCom token). */
  async function uploadFromUrl(media: ReplyMedia): Promise<{ type: WechatMediaType; mediaId: string }> {
    const type = wechatMediaType(media);
    let res;
    try {
      res = await fetcher.fetchBytes(media.url, { maxBytes: maxMediaBytes, what: 'wechat reply media' });
    } catch (err) {
      // a refused or oversized file stays refused: not worth a retry
      if (err instanceof FetchRefusedError || err instanceof FetchTooLargeError) {
        throw new ProviderRejectedError(`reply media not fetched: ${err.message}`, { providerCode: err instanceof FetchRefusedError ? 'media_refused' : 'media_too_large', cause: err });
      }
      throw new ProviderUnavailableError(`reply media download failed: ${err instanceof Error ? err.message : String(err)}`, { providerCode: 'media_download', cause: err });
    }
    if (res.status >= 500) throw new ProviderUnavailableError(`reply media download: HTTP ${res.status}`, { providerCode: res.status });
    if (res.status >= 300) throw new ProviderRejectedError(`reply media download: HTTP ${res.status}`, { providerCode: res.status });
    const bytes = res.bytes;
    // WeCom refuses files of 5 bytes or fewer and above the per-type caps
    if (bytes.length <= 5 || bytes.length > UPLOAD_LIMITS[type]) {
      throw new ProviderRejectedError(`reply media of ${bytes.length} bytes is outside the ${type} limits`, { providerCode: 40006 });
    }
    const contentType = media.mimeType ?? res.headers['content-type'] ?? 'application/octet-stream';
    const filename = media.filename ?? decodeURIComponent(media.url.split('?')[0]?.split('/').pop() || `${type}`);
    const mediaId = await opts.client.uploadMedia(type, { bytes, contentType, filename });
    return { type, mediaId };
  }

  async function bodyFor(part: OutboundPart): Promise<MessageBody[]> {
    switch (part.kind) {
      case 'text':
        return [{ msgtype: 'text', text: { content: fitText(part.text, 1, WECHAT_TEXT_MAX_BYTES)[0] ?? '' } }];
      case 'options': {
        const head = part.text ? fitText(part.text, 1, WECHAT_MENU_HEAD_MAX_BYTES)[0] : undefined;
        return [
          {
            msgtype: 'msgmenu',
            msgmenu: {
              ...(head ? { head_content: head } : {}),
              list: part.options.slice(0, 10).map((o) => ({ type: 'click' as const, click: { id: o.id.slice(0, 128), content: o.title } })),
            },
          },
        ];
      }
      case 'media': {
        const { type, mediaId } = await uploadFromUrl(part.media);
        return [{ msgtype: type, [type]: { media_id: mediaId } }];
      }
      case 'template':
        throw new ProviderRejectedError('message templates do not exist on 微信客服', { providerCode: 'template_unsupported' });
    }
  }

  return {
    channel: 'wechat-kf',

    render(reply) {
      return renderWechatReply(reply, { maxParts, maxBytes: WECHAT_TEXT_MAX_BYTES });
    },

    async sendPart(ref: ConversationRef, part: OutboundPart, ctx: SendContext) {
      const msgid = wechatMsgid(ctx.outboundId, ctx.partIndex);
      const refused = await allowance.check(ref.account, ref.userId, msgid, now());
      if (refused) throw new ProviderRejectedError(`wechat send refused locally: ${refused.reason}`, { providerCode: refused.code });
      const [body] = await bodyFor(part);
      if (!body) throw new ProviderRejectedError('empty wechat message', { providerCode: 'empty' });
      let res: { msgid?: string };
      try {
        res = await opts.client.sendMsg({ openKfId: ref.account, userId: ref.userId }, msgid, body);
      } catch (err) {
        // 95018: a human servicer holds the session in WeCom; the bot must stay quiet until it is handed back
        if (err instanceof ProviderRejectedError && err.providerCode === '95018') {
          await opts.redis.set(opts.keys.owner(conversationId(ref)), JSON.stringify({ owner: 'human', reason: 'wechat 95018: session held by a servicer', at: now() }), 'EX', HUMAN_OWNER_TTL_SEC);
          opts.log.info('wechat session held by a human; conversation marked human-owned', { msgid });
        }
        throw err;
      }
      await allowance.sent(ref.account, ref.userId, msgid);
      opts.log.debug('wechat message sent', { msgid, part: ctx.partIndex, of: ctx.partCount, msgtype: body.msgtype });
      return { providerMessageId: res.msgid ?? msgid };
    },

    async maySend(ref: ConversationRef) {
      try {
        const { state } = await opts.client.getServiceState(ref.account, ref.userId);
        // 2 = waiting for a human in the queue, 3 = a human servicer holds the session
        return state !== 2 && state !== 3;
      } catch (err) {
        if (err instanceof GatewayError && !err.retryable) throw err;
        opts.log.warn('wechat service_state/get failed; letting send_msg decide', { err: err instanceof Error ? err.message : String(err) });
        return true;
      }
    },

    async handoff(ref: ConversationRef, handoff: { reason: string; summary: string }) {
      const { state } = await opts.client.getServiceState(ref.account, ref.userId);
      if (state === 2 || state === 3) {
        opts.log.info('wechat handoff: humans already hold the session', { state, reason: handoff.reason });
        return;
      }
      if (state === 4) {
        opts.log.info('wechat handoff skipped: session ended', { reason: handoff.reason });
        return;
      }
      const servicer = opts.handoffServicer;
      if (servicer && (await servicers.mayReceive(servicer))) {
        try {
          await opts.client.transServiceState(ref.account, ref.userId, 3, servicer);
          opts.log.info('wechat handoff to servicer', { reason: handoff.reason });
          return;
        } catch (err) {
          // 95019: the servicer stopped or is suspended; the queue is the fallback
          if (!(err instanceof ProviderRejectedError && err.providerCode === '95019')) throw err;
          await servicers.set(servicer, false);
        }
      }
      await opts.client.transServiceState(ref.account, ref.userId, 2);
      opts.log.info('wechat handoff to the queue', { reason: handoff.reason });
    },
  };
}
