// Wire payloads of the chaos soak (scripts/soak.mjs, scripts/soak-fakes.mjs): what WhatsApp and
// Chatwoot send to the gateway, shaped like the providers' fixtures (packages/testkit/fixtures),
// plus one HTTP POST helper. WeCom callbacks come from testkit's encryptWechatCallback. Plain data
// builders: no state, no I/O except `postOnce`.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);

/** The probe a customer message carries; the fake LLM echoes every probe of a turn in its reply. */
export const probe = (c, k) => `#c${c}:${k}`;
/** Every probe in a reply text, as [conversation, k] pairs, in order. */
export function probesIn(text) {
  return (String(text).match(/#c\d+:\d+/g) ?? []).map((t) => t.slice(2).split(':').map(Number));
}

// ------------------------------------------------------------------ WhatsApp (Meta webhooks)

/** `X-Hub-Signature-256` over the raw body. */
export const metaSignature = (body, appSecret) => 'sha256=' + createHmac('sha256', appSecret).update(body).digest('hex');

const waEnvelope = (pnid, value) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: '100200300400500', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001111', phone_number_id: pnid }, ...value } }] }],
});

/** A customer text message delivery (fixture 01-text.json). */
export function whatsappMessage({ pnid, waId, name, wamid, text, at = Date.now() }) {
  return Buffer.from(
    JSON.stringify(
      waEnvelope(pnid, {
        contacts: [{ profile: { name }, wa_id: waId }],
        messages: [{ from: waId, id: wamid, timestamp: String(Math.floor(at / 1000)), type: 'text', text: { body: text } }],
      }),
    ),
  );
}

// ------------------------------------------------------------------ Chatwoot (agent-bot webhooks)

/** `X-Chatwoot-Timestamp` / `X-Chatwoot-Signature` over `"{ts}.{body}"`; recomputed per attempt like Chatwoot. */
export function chatwootSignature(body, secret, at = Date.now()) {
  const ts = String(Math.floor(at / 1000));
  return { 'x-chatwoot-timestamp': ts, 'x-chatwoot-signature': 'sha256=' + createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex') };
}

let cwFixture;
/**
 * An agent-bot `message_created` webhook for an incoming customer text in a Chatwoot-native (web
 * widget) conversation that is `pending` and unassigned, built from the Chatwoot fixture
 * (message_created.incoming_contact_with_image.json) without its attachment.
 */
export function chatwootIncoming({ accountId, inboxId, conversationId, contactId, name, messageId, text, at = Date.now() }) {
  cwFixture ??= JSON.parse(readFileSync(join(root, 'packages/testkit/fixtures/chatwoot/message_created.incoming_contact_with_image.json'), 'utf8'));
  const f = cwFixture;
  const iso = new Date(at).toISOString();
  const secs = Math.floor(at / 1000);
  const sender = { ...f.conversation.meta.sender, id: contactId, name, identifier: null, phone_number: null, additional_attributes: {}, custom_attributes: {} };
  const nested = {
    ...f.conversation.messages[0],
    id: messageId,
    content: text,
    processed_message_content: text,
    account_id: accountId,
    inbox_id: inboxId,
    conversation_id: conversationId,
    created_at: secs,
    updated_at: iso,
    source_id: null,
    sender_id: contactId,
    attachments: [],
    sender,
    conversation: { assignee_id: null, unread_count: 1, last_activity_at: secs, contact_inbox: { source_id: `widget-${contactId}` } },
  };
  const payload = {
    ...f,
    account: { id: accountId, name: f.account.name },
    content: text,
    conversation: {
      ...f.conversation,
      channel: 'Channel::WebWidget',
      contact_inbox: { ...f.conversation.contact_inbox, contact_id: contactId, inbox_id: inboxId, source_id: `widget-${contactId}` },
      id: conversationId,
      inbox_id: inboxId,
      labels: [],
      messages: [nested],
      meta: { ...f.conversation.meta, sender, assignee: null, assignee_type: null },
      status: 'pending',
      custom_attributes: {},
      waiting_since: secs,
      last_activity_at: secs,
      timestamp: secs,
      updated_at: at / 1000,
    },
    created_at: iso,
    id: messageId,
    inbox: { id: inboxId, name: 'Website (soak)' },
    sender: { ...f.sender, id: contactId, name, identifier: null, phone_number: null, additional_attributes: {}, custom_attributes: {} },
    source_id: null,
  };
  delete payload.attachments;
  return Buffer.from(JSON.stringify(payload));
}

// ------------------------------------------------------------------ HTTP

/**
 * One POST; resolves with the HTTP status, 0 for a connection error or timeout. Never rejects.
 * @param {string} url
 * @param {string | Buffer} body
 * @param {Record<string, string>} [headers]
 * @param {{ agent?: import('node:http').Agent, timeoutMs?: number }} [opts]
 */
export function postOnce(url, body, headers = {}, { agent, timeoutMs = 10_000 } = {}) {
  const u = new URL(url);
  return new Promise((done) => {
    const req = http.request(
      { agent, host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', timeout: timeoutMs, headers: { 'content-length': body.length, ...headers } },
      (r) => {
        r.resume();
        r.on('end', () => done(r.statusCode ?? 0));
        r.on('error', () => done(0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0));
    req.end(body);
  });
}
