import type { ChannelMediaRules } from '@switchboard/core';

const MB = 1024 * 1024;

/**
 * 微信客服 media limits (wechat-kf.md §7): `media/get` answers 830002 above 20 MB; image 10 MB
 * jpg/png; voice 2 MB AMR ≤ 60 s; video 10 MB mp4; file 20 MB; every file more than 5 bytes (40006).
 */
export const WECHAT_MEDIA_RULES: ChannelMediaRules = {
  downloadMaxBytes: 20 * MB,
  minBytes: 6,
  outbound: {
    image: { sendAs: 'image', maxBytes: 10 * MB, types: new Set(['image/jpeg', 'image/png']), convertTo: 'image/jpeg' },
    audio: { sendAs: 'voice', maxBytes: 2 * MB, types: new Set(['audio/amr']), convertTo: 'audio/amr', maxSeconds: 60 },
    video: { sendAs: 'video', maxBytes: 10 * MB, types: new Set(['video/mp4']) },
    document: { sendAs: 'file', maxBytes: 20 * MB, types: 'any' },
  },
};
