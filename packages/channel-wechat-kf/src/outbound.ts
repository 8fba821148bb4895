/**
 * Outbound half of the 微信客服 channel, for workers: API client, token cache, `sync_msg` pull,
 * `send_msg` adapter and handoff.
 */
export * from './wechat.env.js';
export * from './wechat.wire.js';
export * from './wechat.errors.js';
export * from './wechat.token.js';
export * from './wechat.client.js';
export * from './wechat.state.js';
export * from './wechat.format.js';
export * from './wechat.send.js';
export * from './wechat.sync.js';
export * from './wechat.normalize.js';
export * from './wechat.media-rules.js';
export * from './wechat.sync-consumer.js';
export * from './wechat.profile.js';
