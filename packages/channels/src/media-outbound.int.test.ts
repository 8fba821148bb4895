import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, silentLogger, type ReplyMedia } from '@switchboard/core';
import { GuardedFetcher } from '@switchboard/fetch';
import { gatewayKeys } from '@switchboard/queue';
import { WechatApiClient } from '@switchboard/channel-wechat-kf/outbound';
import {
  dropPrefix,
  FakeWecom,
  ffmpegAvailable,
  minimalPdf,
  mp3Sample,
  PNG_1X1,
  startFakeMediaHost,
  testRedisUrl,
  uniquePrefix,
  type FakeMediaHost,
} from '@switchboard/testkit';
import { createFfmpeg, createMediaStore, Ffmpeg, linkFallbackText, mediaEnv, sniffMime } from '@switchboard/media';
import { createWechatMediaPreparer, WECHAT_MEDIA_ID_MAX_TTL_SEC } from '@switchboard/channel-wechat-kf/worker';
import { createWhatsAppMediaPreparer } from '@switchboard/channel-whatsapp/worker';

const HAS_FFMPEG = ffmpegAvailable();
const note = HAS_FFMPEG ? '' : ' [SKIPPED: ffmpeg/ffprobe not on PATH — apt-get install -y ffmpeg]';
const withFfmpeg = HAS_FFMPEG ? it : it.skip;
const WA_TOKEN = 'wa-out-token';
const PNID = '5550001';

function wavSample(dir: string): Promise<Buffer> {
  const out = join(dir, 'tone.wav');
  execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=500:duration=1', '-ac', '1', out]);
  return readFile(out);
}

describe('outbound media preparers', () => {
  let redis: Redis;
  let host: FakeMediaHost;
  let prefix: string;
  let tmp: string;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    host = await startFakeMediaHost({ whatsappToken: WA_TOKEN });
    tmp = await mkdtemp(join(tmpdir(), 'sb-media-out-'));
  });
  afterAll(async () => {
    await host.close();
    redis.disconnect();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    prefix = uniquePrefix('mout');
    host.uploads.length = 0;
  });
  afterEach(async () => {
    await dropPrefix(redis, prefix);
  });

  const env = (extra: Record<string, string> = {}) => loadConfig(mediaEnv, { MEDIA_TMP_DIR: tmp, ...extra });
  // reply files are served by the fake on loopback: listed as FETCH_ALLOWED_ORIGINS would list it
  const fetcher = () => new GuardedFetcher({ allowedOrigins: [host.url], timeoutMs: 5000, maxBytes: 64 << 20 });
  const toolkit = (e: ReturnType<typeof env>, ffmpeg?: Ffmpeg) => ({
    store: createMediaStore(e),
    ffmpeg: ffmpeg ?? createFfmpeg(e),
    redis,
    keys: gatewayKeys(prefix).media,
    timeoutMs: e.MEDIA_DOWNLOAD_TIMEOUT_MS,
    fetcher: fetcher(),
    log: silentLogger(),
  });
  const wa = (mode: 'upload' | 'link' = 'upload') => createWhatsAppMediaPreparer({ graphUrl: host.graphUrl, accessToken: WA_TOKEN, mode }, toolkit(env()));

  it('WhatsApp: uploads a PNG with POST /{phone-number-id}/media once, then reuses the cached id', async () => {
    const url = host.chatwoot.add({ bytes: PNG_1X1, mimeType: 'image/png', filename: 'chart.png' });
    const media: ReplyMedia = { kind: 'image', url, caption: 'Your chart' };
    const first = await wa().prepare(PNID, media);
    expect(first).toMatchObject({ kind: 'media', sendAs: 'image', caption: 'Your chart', mimeType: 'image/png' });
    expect(host.uploads).toHaveLength(1);
    const up = host.uploads[0]!;
    expect(up).toMatchObject({ channel: 'whatsapp', type: 'image/png', contentType: 'image/png', filename: 'image.png' });
    expect(up.bytes.equals(PNG_1X1)).toBe(true);
    expect(first.kind === 'media' && first.mediaId).toBe(up.id);
    const upload = host.calls.find((c) => c.method === 'POST' && c.path === `/v24.0/${PNID}/media`);
    expect(upload?.headers.authorization).toBe(`Bearer ${WA_TOKEN}`);

    const second = await wa().prepare(PNID, media);
    expect(second).toMatchObject({ kind: 'media', mediaId: up.id, cached: true });
    expect(host.uploads).toHaveLength(1);
  });

  withFfmpeg(`WhatsApp: a WAV reply is converted to OGG/Opus before upload${note}`, async () => {
    const url = host.chatwoot.add({ bytes: await wavSample(tmp), mimeType: 'audio/wav', filename: 'answer.wav' });
    const r = await wa().prepare(PNID, { kind: 'audio', url, caption: 'ignored for audio' });
    expect(r).toMatchObject({ kind: 'media', sendAs: 'audio', mimeType: 'audio/ogg' });
    expect(r.kind === 'media' && r.caption).toBeFalsy();
    expect(host.uploads[0]).toMatchObject({ type: 'audio/ogg', filename: 'audio.ogg' });
    expect(sniffMime(host.uploads[0]!.bytes)).toBe('audio/ogg');
  });

  it('WhatsApp: a type the Cloud API refuses falls back to a link with a clear text', async () => {
    const url = host.chatwoot.add({ bytes: Buffer.from('PK\x03\x04 zip payload'), mimeType: 'application/zip', filename: 'bundle.zip' });
    const media: ReplyMedia = { kind: 'document', url, filename: 'bundle.zip', caption: 'All files' };
    const r = await wa().prepare(PNID, media);
    expect(r).toEqual({ kind: 'link', text: `All files\nbundle.zip: ${url}`, reason: 'application/zip cannot be sent as document on whatsapp' });
    expect(host.uploads).toHaveLength(0);
  });

  it('WhatsApp: an upload refused with 131053 becomes a link text; a 5xx is raised as retryable for the outbound job', async () => {
    const url = host.chatwoot.add({ bytes: PNG_1X1, mimeType: 'image/png', filename: 'p.png' });
    host.whatsapp.failUploadNext(400, 131053, '(#131053) Media upload error');
    expect(await wa().prepare(PNID, { kind: 'image', url })).toEqual({
      kind: 'link',
      text: `Image: ${url}`,
      reason: 'WhatsApp refused the upload (131053: (#131053) Media upload error)',
    });
    host.whatsapp.failUploadNext(503, 2, 'Service temporarily unavailable');
    await expect(wa().prepare(PNID, { kind: 'image', url })).rejects.toMatchObject({ code: 'provider_unavailable', retryable: true });
    expect(host.uploads).toHaveLength(0);
  });

  it('WhatsApp link mode sends by link and still refuses declared unsupported types', async () => {
    const p = wa('link');
    expect(await p.prepare(PNID, { kind: 'document', url: 'https://files.example/guide.pdf', filename: 'guide.pdf' })).toEqual({
      kind: 'media',
      sendAs: 'document',
      link: 'https://files.example/guide.pdf',
      filename: 'guide.pdf',
    });
    expect(await p.prepare(PNID, { kind: 'image', url: 'https://files.example/photo.gif' })).toMatchObject({ kind: 'link', text: 'Image: https://files.example/photo.gif' });
  });

  it('an unreachable reply URL becomes a link text instead of a failed send', async () => {
    const r = await wa().prepare(PNID, { kind: 'image', url: `${host.url}/blobs/missing` });
    expect(r).toMatchObject({ kind: 'link', reason: 'the image to send is no longer available (HTTP 404)' });
  });

  describe('WeChat (real WechatApiClient against the fake WeCom)', () => {
    let wecom: FakeWecom;
    beforeAll(async () => {
      wecom = await FakeWecom.start();
    });
    afterAll(async () => {
      await wecom.close();
    });

    const wx = (ffmpeg?: Ffmpeg) => {
      const api = new WechatApiClient({ settings: { corpId: wecom.corpId, secret: wecom.secret, apiUrl: wecom.url, timeoutMs: 5000 }, redis, keys: gatewayKeys(prefix), log: silentLogger() });
      return createWechatMediaPreparer(api, toolkit(env(), ffmpeg));
    };

    it('uploads an image with media/upload?type=image and caches the media_id for less than 3 days', async () => {
      const url = host.chatwoot.add({ bytes: PNG_1X1, mimeType: 'image/png', filename: 'map.png' });
      const before = wecom.uploads.length;
      const r = await wx().prepare(undefined, { kind: 'image', url, caption: 'Our shop' });
      expect(r).toMatchObject({ kind: 'media', sendAs: 'image', caption: 'Our shop' });
      expect(wecom.uploads.length).toBe(before + 1);
      expect(wecom.uploads.at(-1)).toMatchObject({ type: 'image', contentType: 'image/png', filename: 'image.png' });
      const keys = await redis.keys(`${gatewayKeys(prefix).ns('media')}:wx-upload:*`);
      expect(keys).toHaveLength(1);
      const ttl = await redis.ttl(keys[0]!);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(WECHAT_MEDIA_ID_MAX_TTL_SEC);
      expect(await wx().prepare(undefined, { kind: 'image', url })).toMatchObject({ kind: 'media', cached: true });
      expect(wecom.uploads.length).toBe(before + 1);
    });

    it('sends a PDF as type=file', async () => {
      const url = host.chatwoot.add({ bytes: minimalPdf(['Price list']), mimeType: 'application/pdf', filename: 'prices.pdf' });
      const r = await wx().prepare(undefined, { kind: 'document', url, filename: 'prices.pdf' });
      expect(r).toMatchObject({ kind: 'media', sendAs: 'file' });
      expect(wecom.uploads.at(-1)).toMatchObject({ type: 'file', filename: 'prices.pdf' });
    });

    withFfmpeg(`voice that cannot become AMR (no AMR encoder) still goes out, as a file${note}`, async () => {
      const ff = new Ffmpeg();
      const amr = await ff.hasEncoder('libopencore_amrnb');
      const url = host.chatwoot.add({ bytes: mp3Sample(1), mimeType: 'audio/mpeg', filename: 'reply.mp3' });
      const r = await wx(ff).prepare(undefined, { kind: 'audio', url });
      expect(r).toMatchObject({ kind: 'media', sendAs: amr ? 'voice' : 'file' });
    });

    it('a file WeChat refuses (40006) becomes a link text', async () => {
      wecom.fail('media/upload', 40006, 1);
      const url = host.chatwoot.add({ bytes: PNG_1X1, mimeType: 'image/png', filename: 'x.png' });
      const r = await wx().prepare(undefined, { kind: 'image', url: `${url}?v=2` });
      expect(r).toMatchObject({ kind: 'link', text: `Image: ${url}?v=2` });
    });
  });

  it('the link fallback text is never empty and keeps the caption first', () => {
    expect(linkFallbackText({ kind: 'video', url: 'https://x/v.mkv' })).toBe('Video: https://x/v.mkv');
    expect(linkFallbackText({ kind: 'document', url: 'https://x/a', filename: 'a.bin', caption: 'Here you go' })).toBe('Here you go\na.bin: https://x/a');
  });
});
