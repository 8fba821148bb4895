import type express from 'express';
import { DEFAULT_ACCOUNT_ID, type ChannelAccount } from '@switchboard/core';
import { chatwootInbound, type ChatwootSettings } from '@switchboard/channel-chatwoot/inbound';
import { createIngressApp, type IngressDeps } from '@switchboard/ingress';

/** The Chatwoot ingress built from settings (tests and in-process harnesses); main.ts uses `runIngress`. */
export interface ChatwootIngressDeps extends IngressDeps {
  settings: ChatwootSettings;
  /** More accounts (instances) besides `default`, each on `/webhooks/chatwoot/<id>`. */
  accounts?: ReadonlyArray<ChannelAccount<ChatwootSettings>>;
}

/** `createIngressApp(chatwootInbound, …)` with the default account (and `deps.accounts`). */
export function createChatwootIngressApp(deps: ChatwootIngressDeps): express.Express {
  return createIngressApp(chatwootInbound, [{ id: DEFAULT_ACCOUNT_ID, settings: deps.settings }, ...(deps.accounts ?? [])], deps);
}
