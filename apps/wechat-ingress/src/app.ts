import type express from 'express';
import { DEFAULT_ACCOUNT_ID, type ChannelAccount } from '@switchboard/core';
import { wechatInbound, type WechatCallbackSettings, type WechatInboundSettings } from '@switchboard/channel-wechat-kf/inbound';
import { createIngressApp, type IngressDeps } from '@switchboard/ingress';

/** The WeChat ingress built from settings (tests and in-process harnesses); main.ts uses `runIngress`. */
export interface WechatIngressDeps extends IngressDeps {
  /** undefined = channel disabled (credentials absent): callbacks answer 503 so WeCom retries later. */
  settings: WechatCallbackSettings | undefined;
  /** Further corps (`ACCOUNTS_FILE` accounts), each served on `/webhooks/wechat-kf/<id>` with its own keys. */
  accounts?: ReadonlyArray<ChannelAccount<WechatInboundSettings>>;
}

/** `createIngressApp(wechatInbound, …)` with the default account and any further ones. */
export function createWechatIngressApp(deps: WechatIngressDeps): express.Express {
  const settings = deps.settings ? { enabled: true as const, settings: deps.settings } : { enabled: false as const, missing: [] };
  return createIngressApp(wechatInbound, [{ id: DEFAULT_ACCOUNT_ID, settings }, ...(deps.accounts ?? [])], deps);
}
