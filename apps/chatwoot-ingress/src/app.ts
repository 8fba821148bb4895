import type express from 'express';
import { DEFAULT_ACCOUNT_ID } from '@switchboard/core';
import { chatwootInbound, type ChatwootSettings } from '@switchboard/channel-chatwoot/inbound';
import { createIngressApp, type IngressDeps } from '@switchboard/ingress';

/** The Chatwoot ingress built from settings (tests and in-process harnesses); main.ts uses `runIngress`. */
export interface ChatwootIngressDeps extends IngressDeps {
  settings: ChatwootSettings;
}

/** `createIngressApp(chatwootInbound, …)` with the default account. */
export function createChatwootIngressApp(deps: ChatwootIngressDeps): express.Express {
  return createIngressApp(chatwootInbound, [{ id: DEFAULT_ACCOUNT_ID, settings: deps.settings }], deps);
}
