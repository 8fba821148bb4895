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
  'status-failed-131047-async.json': 'sha256=af5dbb745affaca726868e7e035cc374eec68c62683fb05293f31bacbc11ba94',
};
