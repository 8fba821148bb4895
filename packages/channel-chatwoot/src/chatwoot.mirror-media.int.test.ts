import { Redis } from 'ioredis';
import { silentLogger, type ConversationRef, type MirrorJob, type MirrorMedia, type MirrorMediaLoader } from '@switchboard/core';
import { MediaError } from '@switchboard/media';
import { dropPrefix, PNG_1X1, startFakeChatwoot, testRedisUrl, uniquePrefix, type FakeChatwoot } from '@switchboard/testkit';
import { ChatwootClient } from './chatwoot.client.js';
import { ChatwootMirror } from './chatwoot.mirror.js';
import { mirrorMessageSourceId } from './chatwoot.mirror-store.js';

const INBOX = 23;
const wa: ConversationRef = { channel: 'whatsapp', account: '1234567', userId: '4915112345678', address: '4915112345678', displayName: 'Jonas Becker' };
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

/** The worker's loader stands in for a channel's media source: bytes by media id, counting downloads. */
function loaderOf(files: Record<string, { bytes: Buffer; mimeType: string; filename?: string }>) {
  const downloads: string[] = [];
  const load: MirrorMediaLoader = async (media: MirrorMedia, maxBytes: number) => {
    const id = media.ref.mediaId ?? '';
    downloads.push(id);
    if (id === 'flaky') throw new MediaError('download_failed', 'the image download failed: HTTP 503', { retryable: true });
    if (id === 'expired') throw new MediaError('expired', 'the image is no longer available (HTTP 404)');
    const f = files[id];
    if (!f) throw new Error(`no file ${id}`);
    if (f.bytes.length > maxBytes) throw new MediaError('too_large', 'too large');
    return { bytes: f.bytes, mimeType: f.mimeType, filename: f.filename ?? media.ref.filename ?? `${media.kind}.bin` };
  };
  return { load, downloads };
}

describe('chatwoot mirror media (real Redis, fake Chatwoot)', () => {
  let fake: FakeChatwoot;
  const redis = new Redis(testRedisUrl());
  const prefix = uniquePrefix('cwmm');

  beforeAll(async () => {
    fake = await startFakeChatwoot();
  });
  afterAll(async () => {
    await fake.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });
  beforeEach(() => fake.reset());

  function mirror(): ChatwootMirror {
    const user = new ChatwootClient({ baseUrl: fake.url, accountId: 7, token: fake.userToken, role: 'user', timeoutMs: 2000 });
    return new ChatwootMirror({ user, botId: 4, inboxId: INBOX, redis, prefix, gatewayAccountId: `t${Math.random().toString(36).slice(2, 8)}`, log: silentLogger() });
  }

  const incoming = (sourceId: string, text: string, media: MirrorMedia[]): MirrorJob => ({ ref: wa, direction: 'incoming', sourceId, text, at: Date.now(), media });

  it('a customer photo becomes an incoming message with the file attached and the caption as content', async () => {
    const m = mirror();
    const { load } = loaderOf({ img1: { bytes: PNG_1X1, mimeType: 'image/png', filename: 'photo.png' } });
    expect(await m.apply(incoming('wamid.img', 'Is this the charger?', [{ kind: 'image', ref: { mediaId: 'img1', mimeType: 'image/png' } }]), { media: load })).toMatchObject({ posted: true });
    const [msg] = fake.messages;
    expect(msg).toMatchObject({ message_type: 0, private: false, content: 'Is this the charger?', source_id: 'sb:incoming:wamid.img', token: 'user' });
    expect(msg?.attachments).toHaveLength(1);
    expect(msg?.attachments?.[0]).toMatchObject({ field: 'attachments[]', filename: 'photo.png', contentType: 'image/png', fileType: 'image' });
    expect(msg?.attachments?.[0]?.bytes.equals(PNG_1X1)).toBe(true);
  });

  it('a file over Chatwoot\'s 40 MB is not downloaded: a line names it and its size', async () => {
    const m = mirror();
    const { load, downloads } = loaderOf({});
    await m.apply(incoming('wamid.big', '', [{ kind: 'document', ref: { mediaId: 'big', filename: 'scan.pdf', sizeBytes: 52 * 1024 * 1024 } }]), { media: load });
    expect(downloads).toEqual([]);
    const [msg] = fake.messages;
    expect(msg?.attachments ?? []).toHaveLength(0);
    expect(msg?.content).toBe('📎 File "scan.pdf" (52 MB) not attached: larger than the 40 MB Chatwoot accepts');
  });

  it('at most 15 files go into one message; the rest, and a file gone for good, become lines', async () => {
    const m = mirror();
    const files = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`f${i}`, { bytes: PDF, mimeType: 'application/pdf', filename: `doc${i}.pdf` }]));
    const { load } = loaderOf(files);
    const media: MirrorMedia[] = [{ kind: 'image', ref: { mediaId: 'expired' } }, ...Array.from({ length: 16 }, (_, i): MirrorMedia => ({ kind: 'document', ref: { mediaId: `f${i}`, filename: `doc${i}.pdf` } }))];
    await m.apply(incoming('wamid.many', 'papers', media), { media: load });
    const [msg] = fake.messages;
    expect(msg?.attachments).toHaveLength(15);
    expect(msg?.content).toContain('papers');
    expect(msg?.content).toContain('📎 File "doc15.pdf" not attached: Chatwoot takes at most 15 files per message');
    expect(msg?.content).toContain('📎 Image not attached: the image is no longer available (HTTP 404)');
  });

  it('a passing download problem fails the attempt (the job retries) before anything is claimed or posted', async () => {
    const m = mirror();
    const { load } = loaderOf({});
    const job = incoming('wamid.flaky', 'hi', [{ kind: 'image', ref: { mediaId: 'flaky' } }]);
    await expect(m.apply(job, { media: load })).rejects.toThrow(/HTTP 503/);
    expect(await redis.get(m.store.messageKey(mirrorMessageSourceId('incoming', 'wamid.flaky')))).toBeNull();
    expect(fake.messages).toHaveLength(0);
    // hours later the provider still fails: the message goes without the file rather than never
    await m.apply({ ...job, at: Date.now() - 5 * 3600_000 }, { media: load });
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]?.content).toBe('hi\n\n📎 Image not attached: the image download failed: HTTP 503');
  });

  it('a retry after a crash mid-post (Chatwoot stored it, the answer was lost) does not post the file twice', async () => {
    const m = mirror();
    const { load, downloads } = loaderOf({ v1: { bytes: PDF, mimeType: 'application/pdf', filename: 'invoice.pdf' } });
    const job = incoming('wamid.lost', 'my invoice', [{ kind: 'document', ref: { mediaId: 'v1', filename: 'invoice.pdf' } }]);
    fake.failNext({ method: 'POST', path: /\/messages$/, status: 200, loseResponse: true });
    await expect(m.apply(job, { media: load })).rejects.toThrow();
    expect(fake.messages).toHaveLength(1);
    // the crashed attempt's claim has gone stale: the retry asks Chatwoot and finds the message by its source_id
    const key = m.store.messageKey(mirrorMessageSourceId('incoming', 'wamid.lost'));
    expect(await redis.get(key)).toMatch(/^posting:/);
    await redis.set(key, `posting:${Date.now() - 60_000}`);
    expect(await m.apply(job, { media: load })).toEqual({ posted: false, reason: 'already mirrored' });
    // once known as done, a redelivered job does not even download the file again
    const before = downloads.length;
    expect(await m.apply(job, { media: load })).toEqual({ posted: false, reason: 'already mirrored' });
    expect(downloads.length).toBe(before);
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]?.attachments).toHaveLength(1);
  });

  it('files Chatwoot refuses (413 from its proxy) are named in a line and the message still goes, once', async () => {
    const m = mirror();
    const { load } = loaderOf({ big: { bytes: PDF, mimeType: 'application/pdf', filename: 'contract.pdf' } });
    fake.failNext({ method: 'POST', path: /\/messages$/, status: 413, body: { error: 'Request Entity Too Large' } });
    const job = incoming('wamid.413', 'signed contract', [{ kind: 'document', ref: { mediaId: 'big', filename: 'contract.pdf' } }]);
    expect(await m.apply(job, { media: load })).toMatchObject({ posted: true });
    expect(await m.apply(job, { media: load })).toEqual({ posted: false, reason: 'already mirrored' });
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]).toMatchObject({ source_id: 'sb:incoming:wamid.413', attachments: [] });
    expect(fake.messages[0]?.content).toBe(`signed contract\n\n📎 "contract.pdf" (${PDF.length} B) not attached: Chatwoot refused it (HTTP 413)`);
  });

  it('the transcript note has its own source id, beside the attachment, and is posted once', async () => {
    const m = mirror();
    const { load } = loaderOf({ a1: { bytes: Buffer.from('OggS-voice'), mimeType: 'audio/ogg', filename: 'voice.ogg' } });
    await m.apply(incoming('wamid.voice', '', [{ kind: 'audio', voice: true, ref: { mediaId: 'a1' } }]), { media: load });
    const note: MirrorJob = { ref: wa, direction: 'note', sourceId: 'wamid.voice#note', text: '🎙️ Transcript of the voice message:\n\nPlease change my address', at: Date.now() };
    await m.apply(note);
    await m.apply(note);
    expect(fake.messages.map((x) => [x.source_id, x.private, x.attachments?.length ?? 0])).toEqual([
      ['sb:incoming:wamid.voice', false, 1],
      ['sb:note:wamid.voice#note', true, 0],
    ]);
    expect(fake.messages[0]?.attachments?.[0]).toMatchObject({ fileType: 'audio', filename: 'voice.ogg' });
  });
});
