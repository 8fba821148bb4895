import { ConfigError, DEFAULT_ACCOUNT_ID, defineAccountFile, type AccountInbound, type ChannelAccount, type ChannelInbound, type InboundAdapter, type Logger } from '@switchboard/core';
import { whatsappAccountFields } from './whatsapp.env.js';
import { createWhatsAppInboundAdapter } from './whatsapp.inbound.js';
import { OTHER_PHONE_NUMBER } from './whatsapp.parse.js';
import { verifySubscription } from './whatsapp.verify.js';
import { WHATSAPP_FREE_FORM_WINDOW } from './whatsapp.policy.js';

/**
 * One WhatsApp account's inbound settings; `appSecret` undefined only with the explicit insecure
 * flag. `phoneNumberIds` (file accounts): the numbers this account receives for.
 */
export type WhatsAppInboundSettings =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly appSecret: string | undefined; readonly verifyToken: string | undefined; readonly phoneNumberIds?: readonly string[] };

/** An account's inbound half from a built adapter: signed POSTs and the `hub.challenge` GET. */
export function whatsappAccountInbound(adapter: InboundAdapter<unknown>, verifyToken: string | undefined): AccountInbound<unknown> {
  return {
    adapter,
    challenge(req) {
      const challenge = verifyToken ? verifySubscription(req.query, verifyToken) : undefined;
      return challenge === undefined ? { ok: false, status: 403, reason: 'hub.verify_token mismatch' } : { ok: true, payload: challenge };
    },
  };
}

/** The inbound half of the WhatsApp channel (`/webhooks/whatsapp[/<accountId>]`, port 3001). */
export const whatsappInbound: ChannelInbound<WhatsAppInboundSettings> = {
  channel: 'whatsapp',
  route: 'whatsapp',
  // Meta payloads reach 3 MB; an inflated gzip/deflate body is held to the same limit
  bodyLimit: '3mb',
  errorFormat: 'json',
  // unknown message types reach the inbound consumer (it may tell the customer it cannot read them);
  // a change of a phone number the account does not serve is only acknowledged, logged and counted
  unsupported: (e) => (e.providerType === OTHER_PHONE_NUMBER ? 'acknowledge' : 'enqueue'),
  verifiesSubscription: true,
  freeFormWindow: WHATSAPP_FREE_FORM_WINDOW,
  accountFile: defineAccountFile(whatsappAccountFields, (f) => ({ enabled: true, appSecret: f.appSecret, verifyToken: f.verifyToken, phoneNumberIds: f.phoneNumberIds })),
  createInbound(account) {
    const s = account.settings;
    if (!s.enabled) return { enabled: false, reason: 'WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN and WHATSAPP_ACCESS_TOKEN are not set' };
    return { enabled: true, inbound: whatsappAccountInbound(createWhatsAppInboundAdapter({ appSecret: s.appSecret, phoneNumberIds: s.phoneNumberIds }), s.verifyToken) };
  },
  answer: () => ({ type: 'text', body: 'EVENT_RECEIVED' }),
};

/** The variables of `whatsappEnv` that define the default account's inbound half. */
export interface WhatsAppInboundEnv {
  readonly WHATSAPP_APP_SECRET?: string | undefined;
  readonly WHATSAPP_VERIFY_TOKEN?: string | undefined;
  readonly WHATSAPP_ACCESS_TOKEN?: string | undefined;
  readonly WHATSAPP_INSECURE_SKIP_SIGNATURE: boolean;
}

/**
 * The `default` account from the WhatsApp variables: disabled (with a warning) without credentials;
 * a missing app secret stops the start unless WHATSAPP_INSECURE_SKIP_SIGNATURE is set (warned).
 */
export function whatsappDefaultAccount(cfg: WhatsAppInboundEnv, log: Logger): ChannelAccount<WhatsAppInboundSettings> {
  const configured = Boolean(cfg.WHATSAPP_APP_SECRET || cfg.WHATSAPP_VERIFY_TOKEN || cfg.WHATSAPP_ACCESS_TOKEN);
  if (!configured && !cfg.WHATSAPP_INSECURE_SKIP_SIGNATURE) {
    log.warn('WhatsApp channel disabled: set WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN and WHATSAPP_ACCESS_TOKEN to enable it');
    return { id: DEFAULT_ACCOUNT_ID, settings: { enabled: false } };
  }
  if (!cfg.WHATSAPP_APP_SECRET) {
    if (!cfg.WHATSAPP_INSECURE_SKIP_SIGNATURE) {
      throw new ConfigError(['WHATSAPP_APP_SECRET: required to verify X-Hub-Signature-256 (or set WHATSAPP_INSECURE_SKIP_SIGNATURE=true for local tests)']);
    }
    log.warn('INSECURE: WHATSAPP_INSECURE_SKIP_SIGNATURE=true, webhook signatures are NOT verified; never run this in production');
  }
  return { id: DEFAULT_ACCOUNT_ID, settings: { enabled: true, appSecret: cfg.WHATSAPP_APP_SECRET, verifyToken: cfg.WHATSAPP_VERIFY_TOKEN } };
}
