/**
 * Inbound half of the 微信客服 channel, for ingress apps: callback crypto, XML parsing, request
 * verification, the env fragment and the (pure) sync item normalizer. Must not import axios.
 */
export * from './wechat.env.js';
export * from './wechat.crypto.js';
export * from './wechat.parse.js';
export * from './wechat.verify.js';
export * from './wechat.normalize.js';
export * from './wechat.inbound.js';
