/** The 微信客服 (WeCom kf) channel. Import `./inbound` in ingress apps and `./outbound` in workers. */
export * from './inbound.js';
export * from './outbound.js';
