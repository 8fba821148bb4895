import { readFile } from 'node:fs/promises';
import type { ConversationRef, InboundMessage, MessageContent, MirrorMedia, MirrorMediaFile, MirrorMediaLoader } from '@switchboard/core';
import { extensionFor, MediaTempStore } from '@switchboard/media';
import { accountFor } from './channels.js';
import type { WorkerDeps } from './deps.js';

/** The media of a customer message as a mirror job carries it, with the caption that becomes the mirrored text. */
export function mirrorMediaOf(content: MessageContent): { media: MirrorMedia[]; caption: string } | undefined {
  switch (content.type) {
    case 'image':
    case 'sticker':
      return { media: [{ kind: 'image', ref: content.media }], caption: content.media.caption ?? '' };
    case 'audio':
      return { media: [{ kind: 'audio', ...(content.voice ? { voice: true } : {}), ref: content.media }], caption: content.media.caption ?? '' };
    case 'video':
      return { media: [{ kind: 'video', ref: content.media }], caption: content.media.caption ?? '' };
    case 'document':
      return { media: [{ kind: 'document', ref: content.media }], caption: content.media.caption ?? '' };
    default:
      return undefined;
  }
}

/** Whether a customer message carries a file the mirror attaches. */
export function hasMirrorMedia(m: Pick<InboundMessage, 'content'>): boolean {
  return mirrorMediaOf(m.content) !== undefined;
}

/** Bytes a worker's mirror downloads may hold on disk at once (a few Chatwoot-sized files). */
const MIRROR_TMP_MAX_BYTES = 256 * 1024 * 1024;

let mirrorStore: MediaTempStore | undefined;

/**
 * The loader a mirror job's files are downloaded with: the mirrored conversation's own media source
 * (its account's credentials, through the guarded fetcher), into a private workspace that is
 * removed before the bytes are returned.
 */
export function mirrorMediaLoader(deps: Pick<WorkerDeps, 'channels'>, ref: ConversationRef): MirrorMediaLoader | undefined {
  const source = accountFor(deps, ref)?.mediaSource ?? deps.channels[ref.channel].unconfiguredMediaSource;
  if (!source) return undefined;
  return async (media: MirrorMedia, maxBytes: number): Promise<MirrorMediaFile> => {
    const ws = await (mirrorStore ??= new MediaTempStore({ maxBytes: MIRROR_TMP_MAX_BYTES })).workspace();
    try {
      const what = media.kind === 'audio' && media.voice ? 'the voice message' : `the ${media.kind}`;
      const file = await source.fetch(media.ref, ws, { maxBytes, what, account: ref.account });
      const filename = media.ref.filename ?? file.filename ?? `${media.voice ? 'voice' : media.kind}.${extensionFor(file.mimeType)}`;
      return { bytes: await readFile(file.path), mimeType: file.mimeType, filename };
    } finally {
      await ws.dispose();
    }
  };
}

/** The private note of what was read out of a customer's file: a voice note's transcript, a document's text. */
export function mediaNoteText(content: MessageContent, text: string): string {
  const file = 'media' in content && content.media.filename ? ` "${content.media.filename}"` : '';
  switch (content.type) {
    case 'audio':
      return `🎙️ Transcript of the ${content.voice ? 'voice message' : `audio${file}`}:\n\n${text}`;
    case 'video':
      return `🎬 Transcript of the video${file}:\n\n${text}`;
    case 'document':
      return `📄 Text of the document${file}:\n\n${text}`;
    default:
      return `📝 Read from the ${content.type}${file}:\n\n${text}`;
  }
}
