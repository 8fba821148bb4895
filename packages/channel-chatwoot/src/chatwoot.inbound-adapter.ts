import { jsonNestingExceeds, webhookPayloadBytes, type ConversationRef, type InboundAdapter, type InboundEvent, type ParseContext, type VerifyResult, type WebhookRequest } from '@switchboard/core';
import { normalizeChatwootWebhook, type ChatwootParseOptions } from './chatwoot.parse.js';
import { verifyChatwootSignature } from './chatwoot.verify.js';
import { WireEnvelope } from './chatwoot.wire.js';

/** Options of {@link createChatwootInboundAdapter}. */
export interface ChatwootInboundOptions extends ChatwootParseOptions {
  /** `CHATWOOT_WEBHOOK_SECRET` values; empty = unsigned requests accepted. */
  readonly secrets: readonly string[];
  /** Replay window of `X-Chatwoot-Timestamp`, seconds. */
  readonly windowSec: number;
}

/**
 * The inbound half of the Chatwoot channel: signature check over the raw bytes, then JSON envelope
 * check (401 for a bad signature, 400 for a body that is not a Chatwoot webhook).
 * `parse` is pure; a mirror-inbox payload needs the original conversation (`mirroredRef`), which the
 * channel's `prepare` step resolves from Redis (see chatwoot.channel-inbound.ts).
 */
export function createChatwootInboundAdapter(opts: ChatwootInboundOptions): InboundAdapter<WireEnvelope, { mirroredRef: ConversationRef }> {
  return {
    channel: 'chatwoot',
    verify(req: WebhookRequest): VerifyResult<WireEnvelope> {
      const sig = verifyChatwootSignature({ rawBody: req.rawBody, headers: req.headers, secrets: opts.secrets, now: req.now, windowSec: opts.windowSec });
      if (!sig.ok) return { ok: false, status: 401, reason: sig.reason };
      // the signature covers the bytes as sent (a gzip body is signed compressed); inflate only now
      const body = webhookPayloadBytes(req);
      if (!body.ok) return body;
      if (jsonNestingExceeds(body.body)) return { ok: false, status: 400, reason: 'JSON nested too deeply' };
      let json: unknown;
      try {
        json = JSON.parse(body.body.toString('utf8'));
      } catch {
        return { ok: false, status: 400, reason: 'body is not JSON' };
      }
      const env = WireEnvelope.safeParse(json);
      if (!env.success) return { ok: false, status: 400, reason: 'body has no event name' };
      return { ok: true, payload: env.data };
    },
    parse(payload: WireEnvelope, ctx: ParseContext<{ mirroredRef: ConversationRef }>): InboundEvent[] {
      return normalizeChatwootWebhook(payload, opts, ctx);
    },
  };
}
