import type express from 'express';
import { DEFAULT_ACCOUNT_ID, type InboundAdapter } from '@switchboard/core';
import { whatsappAccountInbound, whatsappInbound } from '@switchboard/channel-whatsapp/inbound';
import { createIngressApp, type IngressDeps } from '@switchboard/ingress';

/** The WhatsApp ingress built from an adapter instance (tests and in-process harnesses); main.ts uses `runIngress`. */
export interface WhatsAppIngressDeps extends IngressDeps {
  /** undefined = channel disabled (no credentials): webhooks answer 503 so Meta keeps them. */
  adapter: InboundAdapter<unknown> | undefined;
  verifyToken: string | undefined;
}

/** `createIngressApp(whatsappInbound, …)` with the default account served by `adapter`. */
export function createWhatsAppIngressApp(deps: WhatsAppIngressDeps): express.Express {
  const { adapter, verifyToken } = deps;
  return createIngressApp(
    { ...whatsappInbound, createInbound: () => (adapter ? { enabled: true, inbound: whatsappAccountInbound(adapter, verifyToken) } : { enabled: false, reason: 'no adapter' }) },
    [{ id: DEFAULT_ACCOUNT_ID, settings: undefined }],
    deps,
  );
}
