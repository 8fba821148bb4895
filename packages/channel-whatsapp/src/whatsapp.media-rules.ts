import type { ChannelMediaRules } from '@switchboard/core';

const MB = 1024 * 1024;

const DOCUMENT_TYPES = new Set([
  'text/plain', 'application/pdf', 'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
]);

/**
 * WhatsApp Cloud API media limits (whatsapp-cloud-api.md §8): inbound files up to 100 MB (131052);
 * image 5 MB jpeg/png; audio 16 MB aac/amr/mpeg/mp4/ogg-opus; video 16 MB mp4/3gpp; document
 * 100 MB text/pdf/Office.
 */
export const WHATSAPP_MEDIA_RULES: ChannelMediaRules = {
  downloadMaxBytes: 100 * MB,
  outbound: {
    image: { sendAs: 'image', maxBytes: 5 * MB, types: new Set(['image/jpeg', 'image/png']), convertTo: 'image/jpeg' },
    audio: { sendAs: 'audio', maxBytes: 16 * MB, types: new Set(['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg']), convertTo: 'audio/ogg' },
    video: { sendAs: 'video', maxBytes: 16 * MB, types: new Set(['video/mp4', 'video/3gpp']) },
    document: { sendAs: 'document', maxBytes: 100 * MB, types: DOCUMENT_TYPES },
  },
};
