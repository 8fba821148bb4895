/** The worker half of the WeChat KF channel (what the registry in `@switchboard/channels` joins; never loaded by the ingress). */
export { wechatKf, type WechatWorkerSettings } from './wechat.channel-worker.js';
export { WechatMediaSource, createWechatMediaPreparer, WECHAT_MEDIA_ID_MAX_TTL_SEC, type AccessTokenProvider, type WechatMediaSourceOptions, type WechatMediaUploadApi } from './wechat.media.js';
export { wechatMessaging } from './wechat.messaging.js';
