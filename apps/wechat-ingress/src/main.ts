import { wechatDefaultAccount, wechatEnv, wechatInbound } from '@switchboard/channel-wechat-kf/inbound';
import { runIngress } from '@switchboard/ingress';

/** Composition root of the 微信客服 ingress (port WECHAT_PORT, default 3002). */
runIngress({
  service: 'wechat-ingress',
  inbound: wechatInbound,
  env: wechatEnv,
  port: (cfg) => cfg.WECHAT_PORT,
  accounts: (cfg, log) => [wechatDefaultAccount(cfg, log)],
});
