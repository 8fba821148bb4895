import { accountIdOf, type ChannelInboundHook } from '@switchboard/core';
import type { TemplateCatalogueService } from './whatsapp.template-catalogue.js';

/** `field` of the webhook change Meta sends when a template is approved, rejected, paused, disabled… */
export const TEMPLATE_STATUS_FIELD = 'message_template_status_update';

/**
 * The inbound hook of one WhatsApp account: a `message_template_status_update` change (the ingress
 * acknowledges it and enqueues it as an `unsupported` event of that type) re-syncs the account's
 * catalogue and is not routed further. Other events pass.
 */
export function templateStatusHook(service: TemplateCatalogueService, accountId: string): ChannelInboundHook {
  return async (event) => {
    if (event.kind !== 'unsupported' || event.channel !== 'whatsapp' || event.providerType !== TEMPLATE_STATUS_FIELD) return false;
    if (accountIdOf(event) !== accountId) return false;
    await service.refreshAfterChange(accountId);
    return true;
  };
}
