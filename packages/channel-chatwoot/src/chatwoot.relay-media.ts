import type { MessageContent, Reply, ReplyMedia } from '@switchboard/core';

/** `sb_fetch_refused_total{reason}` of an agent's attachment whose URL is not on the account's Chatwoot. */
export const FOREIGN_ATTACHMENT_REASON = 'foreign_origin';

/** What a human agent's message in the mirror inbox becomes: the reply to send, and a file refused on the way. */
export interface RelayedReply {
  /** Undefined when nothing is left to send (a refused file without text). */
  readonly reply?: Reply;
  /** The attachment that is not sent, and why (told to the agent as a private note). */
  readonly refused?: { readonly url: string; readonly filename?: string; readonly why: string };
}

function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

function kindOf(content: MessageContent): ReplyMedia['kind'] | undefined {
  switch (content.type) {
    case 'image':
    case 'sticker':
      return 'image';
    case 'audio':
      return 'audio';
    case 'video':
      return 'video';
    case 'document':
      return 'document';
    default:
      return undefined;
  }
}

/**
 * The reply of an agent's message relayed from the mirror inbox. An attachment (Chatwoot `file_type`
 * → `image`/`audio`/`video`/`document`) goes out as reply media by its `data_url`, fetched later by
 * the outbound channel through the guarded fetcher (redirects re-checked, no Chatwoot token sent);
 * only a URL on the account's own Chatwoot origin is taken, any other is refused. The agent's text
 * goes as its own message before the file (a caption would be lost on WeChat and on voice notes).
 */
export function relayedReply(content: MessageContent, renderText: (c: MessageContent) => string, chatwootOrigin: string | undefined): RelayedReply {
  const kind = kindOf(content);
  if (!kind || !('media' in content)) {
    const text = renderText(content);
    return text.trim() ? { reply: { text } } : {};
  }
  const { media } = content;
  const caption = media.caption?.trim() ? media.caption : undefined;
  const url = media.url;
  const onOrigin = url !== undefined && chatwootOrigin !== undefined && originOf(url) === chatwootOrigin;
  if (!url || !onOrigin) {
    const why = !url ? 'the attachment has no URL' : `its URL is not on this Chatwoot (${chatwootOrigin ?? 'no CHATWOOT_URL'})`;
    return { ...(caption ? { reply: { text: caption } } : {}), refused: { url: url ?? '', ...(media.filename ? { filename: media.filename } : {}), why } };
  }
  const file: ReplyMedia = { kind, url, ...(media.mimeType ? { mimeType: media.mimeType } : {}), ...(media.filename ? { filename: media.filename } : {}) };
  // the text goes as its own message before the file: WeChat media and voice notes carry no caption
  return { reply: { text: caption ?? '', media: [file] } };
}
