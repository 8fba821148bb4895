import { jsonNestingExceeds, webhookPayloadBytes, type InboundAdapter } from '@switchboard/core';
import { parseWebhook } from './whatsapp.parse.js';
import { verifyMetaSignature } from './whatsapp.verify.js';

/** Options of {@link createWhatsAppInboundAdapter}. */
export interface WhatsAppInboundOptions {
  /** App secret for X-Hub-Signature-256; undefined only with the explicit insecure flag. */
  appSecret: string | undefined;
  /** The phone number ids this account serves (file accounts); events of other numbers are only acknowledged. Absent: all. */
  phoneNumberIds?: readonly string[] | undefined;
}

/** The inbound half: verify over raw bytes, then JSON-parse, then normalize every event. */
export function createWhatsAppInboundAdapter(opts: WhatsAppInboundOptions): InboundAdapter<unknown> {
  const served = opts.phoneNumberIds ? { phoneNumberIds: new Set(opts.phoneNumberIds) } : {};
  return {
    channel: 'whatsapp',
    verify(req) {
      if (opts.appSecret !== undefined && !verifyMetaSignature(req.rawBody, req.headers['x-hub-signature-256'], opts.appSecret)) {
        return { ok: false, status: 401, reason: req.headers['x-hub-signature-256'] ? 'signature mismatch' : 'missing X-Hub-Signature-256' };
      }
      // the signature covers the bytes as sent (a gzip body is signed compressed); inflate only now
      const body = webhookPayloadBytes(req);
      if (!body.ok) return body;
      if (jsonNestingExceeds(body.body)) return { ok: false, status: 400, reason: 'JSON nested too deeply' };
      try {
        return { ok: true, payload: JSON.parse(body.body.toString('utf8')) as unknown };
      } catch {
        return { ok: false, status: 400, reason: 'body is not valid JSON' };
      }
    },
    parse: (payload, ctx) => parseWebhook(payload, ctx, served),
  };
}
