import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Folder of the provider fixtures (`packages/testkit/fixtures`: data only, byte-exact; each folder has a README). */
export const FIXTURES_DIR = resolve(__dirname, '..', 'fixtures');

/** The exact bytes of a fixture file (signatures cover every byte, including the final newline). */
export function fixtureBytes(channel: string, name: string): Buffer {
  return readFileSync(join(FIXTURES_DIR, channel, name));
}

/** A fixture parsed as JSON. */
export function fixtureJson<T = unknown>(channel: string, name: string): T {
  return JSON.parse(fixtureBytes(channel, name).toString('utf8')) as T;
}

/** File names of a channel's fixtures. */
export function fixtureNames(channel: string): string[] {
  return readdirSync(join(FIXTURES_DIR, channel)).filter((f) => f.endsWith('.json') || f.endsWith('.xml'));
}

/** The WhatsApp fixtures' app secret and published signatures (fixtures/whatsapp/README.md). */
export const WHATSAPP_FIXTURE_SECRET = 'test_app_secret_do_not_use';
export const WHATSAPP_FIXTURE_SIGNATURES: Record<string, string> = {
  '01-text.json': 'sha256=19d75e1a0e3b401c23aae1cac877e06d6f71f9fc5997ffc40bb9cb620cf629b2',
  '02-image-with-caption.json': 'sha256=dd9290138f86495b9c0e2720a2d44f0a09c92cd31b6870fc1f8b167d31706e44',
  '03-voice-audio.json': 'sha256=9b797169cdcc52c83cdd7cca19db77d23a7de612f582be5ab73b1e3e2c46bf23',
  '04-interactive-button-reply.json': 'sha256=b57ff129f7595cff3878ef2ab6975335bd61d130f0f9ebf08564388a6ec77b95',
  '05-batch-two-messages.json': 'sha256=5e8932c37a0eb774f9a0c905ea9fa033225be67469501f7a41320acfb336f88e',
  '06-status-delivered.json': 'sha256=651477c7a3e669e28873b7ae80d6f1b0ffbdd5b1760b889618c1fc7db76ec0f1',
  '07-wire-format-escaped-unicode.raw.json': 'sha256=214a75f2fc8b81b9ac9633f65c0d00ba05e07ce31a2b6da30f78731318e5c75b',
  '17-smb-message-echo.json': 'sha256=0d6a196329d479ce81aa2cdce8a56e75341b738a56538a140b888952401f6c70',
  'status-failed-131047-async.json': 'sha256=af5dbb745affaca726868e7e035cc374eec68c62683fb05293f31bacbc11ba94',
};

/**
 * The bot of the Telegram fixtures (shared by the fake Bot API): token, numeric id, @username and
 * the webhook secret. Synthetic values in the real formats.
 */
export const TELEGRAM_FIXTURE_BOT = {
  token: '7012345678:AAFakeTokenForTests_0123456789abcdefXYZ',
  id: '7012345678',
  username: 'northwind_shop_bot',
  webhookSecret: 'sb-telegram-test-secret_0123',
} as const;

/** What a Telegram fixture is, where its shape is documented, and what the gateway makes of it (default group mode `mention`). */
export interface TelegramFixture {
  docsUrl: string;
  /** The normalized event kind, and for messages the content type / for signals the signal. */
  expect: { kind: 'message' | 'signal' | 'unsupported'; type?: string; signal?: string };
}

const API = 'https://core.telegram.org/bots/api';

/** Provenance and expected outcome of every `update.*.json` fixture in `fixtures/telegram`. */
export const TELEGRAM_FIXTURES: Record<string, TelegramFixture> = {
  'update.01-private-text.json': { docsUrl: `${API}#message`, expect: { kind: 'message', type: 'text' } },
  'update.02-photo-with-caption.json': { docsUrl: `${API}#photosize`, expect: { kind: 'message', type: 'image' } },
  'update.03-voice.json': { docsUrl: `${API}#voice`, expect: { kind: 'message', type: 'audio' } },
  'update.04-audio.json': { docsUrl: `${API}#audio`, expect: { kind: 'message', type: 'audio' } },
  'update.05-video.json': { docsUrl: `${API}#video`, expect: { kind: 'message', type: 'video' } },
  'update.06-video-note.json': { docsUrl: `${API}#videonote`, expect: { kind: 'message', type: 'video' } },
  'update.07-document.json': { docsUrl: `${API}#document`, expect: { kind: 'message', type: 'document' } },
  'update.08-sticker.json': { docsUrl: `${API}#sticker`, expect: { kind: 'message', type: 'sticker' } },
  'update.09-location.json': { docsUrl: `${API}#location`, expect: { kind: 'message', type: 'location' } },
  'update.10-venue.json': { docsUrl: `${API}#venue`, expect: { kind: 'message', type: 'location' } },
  'update.11-contact.json': { docsUrl: `${API}#contact`, expect: { kind: 'message', type: 'contacts' } },
  'update.12-poll.json': { docsUrl: `${API}#poll`, expect: { kind: 'message', type: 'card' } },
  'update.13-edited-message.json': { docsUrl: `${API}#update`, expect: { kind: 'message', type: 'system' } },
  'update.14-callback-query.json': { docsUrl: `${API}#callbackquery`, expect: { kind: 'message', type: 'interactive' } },
  'update.15-my-chat-member-blocked.json': { docsUrl: `${API}#chatmemberupdated`, expect: { kind: 'signal', signal: 'blocked' } },
  'update.16-my-chat-member-unblocked.json': { docsUrl: `${API}#chatmemberupdated`, expect: { kind: 'signal', signal: 'unblocked' } },
  'update.17-group-mention.json': { docsUrl: `${API}#messageentity`, expect: { kind: 'message', type: 'text' } },
  'update.18-group-not-addressed.json': { docsUrl: 'https://core.telegram.org/bots/features#privacy-mode', expect: { kind: 'unsupported' } },
  'update.19-group-reply-to-bot.json': { docsUrl: `${API}#message`, expect: { kind: 'message', type: 'text' } },
  'update.20-channel-post.json': { docsUrl: `${API}#update`, expect: { kind: 'unsupported' } },
  'update.21-inline-query.json': { docsUrl: `${API}#inlinequery`, expect: { kind: 'unsupported' } },
  'update.22-group-new-member.json': { docsUrl: `${API}#message`, expect: { kind: 'unsupported' } },
};

/** Options of {@link whatsappFixtureFor}. */
export interface FixtureForOptions {
  /** The customer's wa_id (replaces `from` and `contacts[].wa_id`). */
  waId: string;
  /** The message's wamid (default: a fresh one). */
  wamid?: string;
  /** For edits and revokes: the wamid of the message they refer to. */
  originalId?: string;
}

let fixtureSeq = 0;

/**
 * A real-shaped WhatsApp fixture (first message of the first change) re-addressed for one test:
 * fresh wamid, the given customer, a current timestamp. Everything else is kept as documented.
 */
export function whatsappFixtureFor(name: string, o: FixtureForOptions): { payload: Record<string, unknown>; wamid: string } {
  fixtureSeq += 1;
  const payload = fixtureJson<Record<string, unknown>>('whatsapp', name);
  const value = (payload as { entry: Array<{ changes: Array<{ value: Record<string, unknown> }> }> }).entry[0]!.changes[0]!.value;
  const message = (value.messages as Array<Record<string, unknown>>)[0]!;
  const wamid = o.wamid ?? `wamid.FX${Date.now().toString(36)}${process.pid}${fixtureSeq}`;
  message.id = wamid;
  message.from = o.waId;
  message.timestamp = String(Math.floor(Date.now() / 1000));
  for (const c of (value.contacts as Array<Record<string, unknown>> | undefined) ?? []) c.wa_id = o.waId;
  if (o.originalId) {
    for (const key of ['edit', 'revoke']) {
      const body = message[key] as Record<string, unknown> | undefined;
      if (body) body.original_message_id = o.originalId;
    }
  }
  return { payload, wamid };
}

/**
 * The Coexistence echo fixture (`17-smb-message-echo.json`: a message the business sent from the
 * WhatsApp Business app) re-addressed for one test: fresh echo id, the given customer (`to`), a
 * current timestamp and optionally another text.
 */
export function whatsappEchoFixtureFor(o: FixtureForOptions & { text?: string }): { payload: Record<string, unknown>; wamid: string } {
  fixtureSeq += 1;
  const payload = fixtureJson<Record<string, unknown>>('whatsapp', '17-smb-message-echo.json');
  const value = (payload as { entry: Array<{ changes: Array<{ value: Record<string, unknown> }> }> }).entry[0]!.changes[0]!.value;
  const echo = (value.message_echoes as Array<Record<string, unknown>>)[0]!;
  const wamid = o.wamid ?? `wamid.EC${Date.now().toString(36)}${process.pid}${fixtureSeq}`;
  echo.id = wamid;
  echo.to = o.waId;
  echo.timestamp = String(Math.floor(Date.now() / 1000));
  if (o.text !== undefined) echo.text = { body: o.text };
  return { payload, wamid };
}
