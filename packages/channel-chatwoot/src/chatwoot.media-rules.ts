import type { ChannelMediaRules } from '@switchboard/core';

const MB = 1024 * 1024;

/** Chatwoot (chatwoot.md §4.1): any attachment up to MAXIMUM_FILE_UPLOAD_SIZE (40 MB by default). */
export const CHATWOOT_MEDIA_RULES: ChannelMediaRules = {
  downloadMaxBytes: 40 * MB,
  outbound: {
    image: { sendAs: 'image', maxBytes: 40 * MB, types: 'any' },
    audio: { sendAs: 'audio', maxBytes: 40 * MB, types: 'any' },
    video: { sendAs: 'video', maxBytes: 40 * MB, types: 'any' },
    document: { sendAs: 'file', maxBytes: 40 * MB, types: 'any' },
  },
};
