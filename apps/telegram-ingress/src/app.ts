import type express from 'express';
import { DEFAULT_ACCOUNT_ID, type InboundAdapter } from '@switchboard/core';
import { telegramAccountInbound, telegramInbound } from '@switchboard/channel-telegram/inbound';
import { createIngressApp, type IngressDeps } from '@switchboard/ingress';

/** The Telegram ingress built from an adapter instance (tests and in-process harnesses); main.ts uses `runIngress`. */
export interface TelegramIngressDeps extends IngressDeps {
  /** undefined = channel disabled (no token): updates answer 503 so Telegram keeps them. */
  adapter: InboundAdapter<unknown> | undefined;
}

/** `createIngressApp(telegramInbound, …)` with the default account served by `adapter`. */
export function createTelegramIngressApp(deps: TelegramIngressDeps): express.Express {
  const { adapter } = deps;
  return createIngressApp(
    { ...telegramInbound, createInbound: () => (adapter ? { enabled: true, inbound: telegramAccountInbound(adapter) } : { enabled: false, reason: 'no adapter' }) },
    [{ id: DEFAULT_ACCOUNT_ID, settings: undefined }],
    deps,
  );
}
