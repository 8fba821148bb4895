import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadConfig, silentLogger, type InboundMessage, type MessageContent } from '@switchboard/core';
import { gatewayKeys } from '@switchboard/queue';
import { WechatApiClient } from '@switchboard/channel-wechat-kf/outbound';
import {
  amrSample,
  dropPrefix,
  FakeWecom,
  ffconcatList,
  hlsPlaylist,
  pdfBomb,
  silkHeaderSample,
  ffmpegAvailable,
  minimalPdf,
  mp4Sample,
  oggOpusSample,
  PNG_1X1,
  startFakeMediaHost,
  testRedisUrl,
  uniquePrefix,
  type FakeMediaHost,
} from '@switchboard/testkit';
import { createMediaResolver, mediaCounter, MEDIA_COUNTER_NAME, mediaEnv, UrlMediaSource, type MediaResolver } from '@switchboard/media';
import { DEFAULT_WHATSAPP_MEDIA_ORIGINS, GuardedFetcher, normalizeOrigin } from '@switchboard/fetch';
import { CHANNELS } from './index.js';
import { WechatMediaSource, type AccessTokenProvider } from '@switchboard/channel-wechat-kf/worker';
import { WhatsAppMediaSource } from '@switchboard/channel-whatsapp/worker';

const HAS_FFMPEG = ffmpegAvailable();
const note = HAS_FFMPEG ? '' : ' [SKIPPED: ffmpeg/ffprobe not on PATH — apt-get install -y ffmpeg]';
const withFfmpeg = HAS_FFMPEG ? it : it.skip;

const WA_TOKEN = 'wa-test-token';

/** A real SILK v3 voice file as WeChat sends it (0x02 byte first): a tone of `seconds`, encoded by silk-wasm. */
async function silkSample(seconds: number): Promise<Buffer> {
  // in a child node: silk-wasm loads its WebAssembly with a dynamic import jest's VM does not allow
  const script = `const s=require(${JSON.stringify(require.resolve('silk-wasm'))});const r=24000,n=r*${seconds},p=Buffer.alloc(n*2);for(let i=0;i<n;i++)p.writeInt16LE(Math.round(6000*Math.sin(2*Math.PI*440*i/r)),i*2);s.encode(p,r).then(e=>process.stdout.write(Buffer.from(e.data).toString('base64')))`;
  return Buffer.from(execFileSync(process.execPath, ['-e', script]).toString(), 'base64');
}
const PNID = '1098765432';
let seq = 0;

function message(channel: InboundMessage['conversation']['channel'], content: MessageContent): InboundMessage {
  seq += 1;
  return {
    kind: 'message',
    eventId: `ev-${seq}`,
    providerMessageId: `pm-${seq}`,
    conversation: { channel, account: channel === 'whatsapp' ? PNID : 'acc1', userId: 'user-1' },
    sentAt: Date.now(),
    receivedAt: Date.now(),
    content,
    author: 'customer',
  };
}

/** A token provider over the fake's WeChat token, with one scripted rotation (what WechatTokenCache does). */
function wechatTokens(initial: string, next?: string): AccessTokenProvider & { invalidations: number } {
  let current = initial;
  return {
    invalidations: 0,
    async get() {
      return current;
    },
    async invalidate(token: string) {
      this.invalidations += 1;
      if (token === current && next) current = next;
    },
  };
}

describe('MediaResolver against fake providers and real Redis', () => {
  let redis: Redis;
  let host: FakeMediaHost;
  let prefix: string;
  let tmp: string;
  let registry: Registry;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    host = await startFakeMediaHost({ whatsappToken: WA_TOKEN, wechatToken: 'wx-1' });
    tmp = await mkdtemp(join(tmpdir(), 'sb-media-int-'));
  });

  afterAll(async () => {
    await host.close();
    redis.disconnect();
    await rm(tmp, { recursive: true, force: true });
  });

  beforeEach(() => {
    prefix = uniquePrefix('media');
    registry = new Registry();
    host.transcriptions.requests.length = 0;
    host.transcriptions.setText('I would like to change my delivery address');
  });

  afterEach(async () => {
    await dropPrefix(redis, prefix);
  });

  /** The resolver a worker builds: every channel's source and download cap from its module. */
  function resolver(env: Record<string, string> = {}, wechat: { apiUrl: string; tokens: AccessTokenProvider } = { apiUrl: host.wechatApiUrl, tokens: wechatTokens('wx-1') }): MediaResolver {
    const parsed = loadConfig(mediaEnv, { MEDIA_TMP_DIR: tmp, PATH: process.env.PATH ?? '', ...env });
    const fetcher = new GuardedFetcher({ timeoutMs: parsed.MEDIA_DOWNLOAD_TIMEOUT_MS, maxBytes: parsed.MEDIA_MAX_BYTES });
    return createMediaResolver(parsed, {
      log: silentLogger(),
      redis,
      keys: gatewayKeys(prefix).media,
      counter: mediaCounter(registry),
      openai: { apiKey: 'sk-test', baseURL: `${host.url}/v1` },
      sources: {
        whatsapp: new WhatsAppMediaSource({ graphUrl: host.graphUrl, accessToken: WA_TOKEN, mediaOrigins: DEFAULT_WHATSAPP_MEDIA_ORIGINS, fetcher }),
        'wechat-kf': new WechatMediaSource({ ...wechat, fetcher }),
        // attachments come from CHATWOOT_URL's origin (a fake on loopback): fetched whatever its address
        chatwoot: new UrlMediaSource({ fetcher, providerOrigins: [normalizeOrigin(new URL(host.url).origin)] }),
      },
      downloadMax: Object.fromEntries(Object.values(CHANNELS).map((c) => [c.id, c.media.downloadMaxBytes])),
    });
  }

  async function counted(outcome: string): Promise<number> {
    const m = (await registry.getSingleMetric(MEDIA_COUNTER_NAME)?.get())?.values ?? [];
    return m.filter((v) => v.labels.outcome === outcome).reduce((a, v) => a + v.value, 0);
  }

  withFfmpeg(`WhatsApp voice note: fetched with the token, sent as it is (OGG/Opus), transcribed once${note}`, async () => {
    const ogg = oggOpusSample(2);
    const mediaId = host.whatsapp.add({ bytes: ogg, mimeType: 'audio/ogg; codecs=opus' });
    const before = host.calls.length;
    const [out] = await resolver().enrich([message('whatsapp', { type: 'audio', voice: true, media: { mediaId, mimeType: 'audio/ogg; codecs=opus' } })]);

    expect(out?.enrichment?.transcript).toBe('I would like to change my delivery address');
    expect(out?.enrichment?.note).toMatch(/^voice message, 2 s, transcribed$/);
    expect(out?.enrichment?.error).toBeUndefined();
    const mine = host.calls.slice(before);
    const lookup = mine.find((c) => c.path === `/v24.0/${mediaId}`);
    const download = mine.find((c) => c.path.startsWith('/wa-cdn/'));
    expect(lookup?.headers.authorization).toBe(`Bearer ${WA_TOKEN}`);
    expect(lookup?.query.phone_number_id).toBe(PNID);
    expect(download?.headers.authorization).toBe(`Bearer ${WA_TOKEN}`);
    expect(download?.headers['user-agent']).toMatch(/^switchboard-gateway\//);
    expect(host.transcriptions.requests).toHaveLength(1);
    const sent = host.transcriptions.requests[0]!;
    expect(sent.model).toBe('whisper-1');
    expect(sent.filename).toBe('voice.ogg');
    expect(sent.contentType).toBe('audio/ogg');
    expect(sent.bytes.equals(ogg)).toBe(true);
    expect(await counted('ok')).toBe(1);
  });

  withFfmpeg(`a retried turn reuses the cached transcript: no download, no second transcription${note}`, async () => {
    const mediaId = host.whatsapp.add({ bytes: oggOpusSample(1), mimeType: 'audio/ogg; codecs=opus' });
    const msg = message('whatsapp', { type: 'audio', voice: true, media: { mediaId } });
    await resolver().enrich([msg]);
    expect(host.transcriptions.requests).toHaveLength(1);
    const downloads = host.whatsapp.downloads(mediaId);

    // a new worker process after a crash mid-turn: same Redis, fresh resolver
    const [again] = await resolver().enrich([msg]);
    expect(again?.enrichment?.transcript).toBe('I would like to change my delivery address');
    expect(host.transcriptions.requests).toHaveLength(1);
    expect(host.whatsapp.downloads(mediaId)).toBe(downloads);
    expect(await counted('cached')).toBe(1);
  });

  it('an expired webhook media URL is replaced by a fresh one, once', async () => {
    const mediaId = host.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' });
    const staleUrl = host.whatsapp.issueUrl(mediaId);
    host.whatsapp.expireIssuedUrls();
    const [out] = await resolver().enrich([message('whatsapp', { type: 'image', media: { mediaId, url: staleUrl, mimeType: 'image/png', caption: 'my receipt' } })]);
    expect(out?.enrichment?.imageDataUrl).toBe(`data:image/png;base64,${PNG_1X1.toString('base64')}`);
    expect(host.whatsapp.lookups(mediaId)).toBe(1);
    expect(host.whatsapp.downloads(mediaId)).toBe(2);
  });

  it('an expired URL from the lookup is re-fetched once; a second expiry is reported, not retried forever', async () => {
    const okId = host.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' });
    host.whatsapp.expireNextIssuedUrl();
    const [ok] = await resolver().enrich([message('whatsapp', { type: 'image', media: { mediaId: okId } })]);
    expect(ok?.enrichment?.imageDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(host.whatsapp.lookups(okId)).toBe(2);
    expect(host.whatsapp.downloads(okId)).toBe(2);

    const goneId = host.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' });
    const stale = host.whatsapp.issueUrl(goneId);
    host.whatsapp.expireIssuedUrls();
    host.whatsapp.expireNextIssuedUrl();
    const [gone] = await resolver().enrich([message('whatsapp', { type: 'image', media: { mediaId: goneId, url: stale } })]);
    expect(gone?.enrichment?.error).toMatch(/^The image download link expired/);
    expect(host.whatsapp.lookups(goneId)).toBe(1);
    expect(host.whatsapp.downloads(goneId)).toBe(2);
    expect(await counted('expired')).toBe(1);
  });

  it('a media id WhatsApp no longer knows becomes an "expired" error, the message is kept', async () => {
    const msg = message('whatsapp', { type: 'document', media: { mediaId: '404404404', mimeType: 'application/pdf', filename: 'old.pdf' } });
    const [out] = await resolver().enrich([msg]);
    expect(out?.eventId).toBe(msg.eventId);
    expect(out?.enrichment?.error).toBe('The document "old.pdf" is no longer available on WhatsApp (media id expired or unknown)');
    expect(out?.enrichment?.note).toBe('document, "old.pdf" received but not read');
  });

  it('an oversized download is refused (Content-Length or the streaming cap) and the error explains it', async () => {
    const big = Buffer.concat([PNG_1X1, Buffer.alloc(300_000)]);
    const mediaId = host.whatsapp.add({ bytes: big, mimeType: 'image/png' });
    const [out] = await resolver({ MEDIA_IMAGE_MAX_BYTES: '100000' }).enrich([message('whatsapp', { type: 'image', media: { mediaId } })]);
    expect(out?.enrichment?.imageDataUrl).toBeUndefined();
    expect(out?.enrichment?.error).toBe('The image is too large (293 KB, over the 98 KB limit)');
    expect(await counted('too_large')).toBe(1);
  });

  it('an oversized file the provider announced is refused without downloading it', async () => {
    const url = host.chatwoot.add({ bytes: PNG_1X1, mimeType: 'video/mp4', filename: 'big.mp4' });
    const redirects = host.chatwoot.redirects();
    const [out] = await resolver().enrich([message('chatwoot', { type: 'video', media: { url, sizeBytes: 200 * 1024 * 1024 } })]);
    expect(out?.enrichment?.error).toBe('The video is too large (200 MB, over the 40 MB limit)');
    expect(out?.enrichment?.note).toBe('video, 200 MB received but not read');
    expect(host.chatwoot.redirects()).toBe(redirects);
  });

  withFfmpeg(`WeChat AMR voice (real WechatApiClient token cache, fake WeCom): converted to MP3 and transcribed${note}`, async () => {
    const wecom = await FakeWecom.start();
    try {
      const client = new WechatApiClient({
        settings: { corpId: wecom.corpId, secret: wecom.secret, apiUrl: wecom.url, timeoutMs: 5000 },
        redis,
        keys: gatewayKeys(prefix),
        log: silentLogger(),
      });
      wecom.addMedia('voice-media-1', amrSample(2), 'audio/amr', 'voice.amr');
      const r = resolver({}, { apiUrl: wecom.url, tokens: client.tokens });
      const [out] = await r.enrich([message('wechat-kf', { type: 'audio', voice: true, media: { mediaId: 'voice-media-1', mimeType: 'audio/amr' } })]);
      expect(out?.enrichment?.transcript).toBe('I would like to change my delivery address');
      expect(out?.enrichment?.note).toBe('voice message, 2 s, transcribed');
      expect(wecom.callsTo('media/get')).toHaveLength(1);
      expect(host.transcriptions.requests).toHaveLength(1);
      expect(host.transcriptions.requests[0]!.filename).toMatch(/\.mp3$/);
      // the upload really is MP3 (frame sync or ID3), not the AMR bytes
      const head = host.transcriptions.requests[0]!.bytes.subarray(0, 3);
      expect(head.toString('latin1') === 'ID3' || (head[0] === 0xff && (head[1]! & 0xe0) === 0xe0)).toBe(true);
    } finally {
      await wecom.close();
    }
  });

  it('WeChat media/get answering JSON errcode 40007 is an error, never saved as the file', async () => {
    const [out] = await resolver().enrich([message('wechat-kf', { type: 'image', media: { mediaId: 'unknown-media' } })]);
    expect(out?.enrichment?.imageDataUrl).toBeUndefined();
    expect(out?.enrichment?.error).toBe('The image is no longer available on WeChat (media_id invalid or older than 3 days, errcode 40007)');
  });

  it('WeChat 42001 (token expired) refreshes the token once and downloads', async () => {
    const mediaId = host.wechat.add({ bytes: PNG_1X1, mimeType: 'image/png', filename: 'a.png' });
    host.wechat.rotateToken('wx-2');
    const tokens = wechatTokens('wx-1', 'wx-2');
    try {
      const [out] = await resolver({}, { apiUrl: host.wechatApiUrl, tokens }).enrich([message('wechat-kf', { type: 'image', media: { mediaId } })]);
      expect(out?.enrichment?.imageDataUrl).toMatch(/^data:image\/png;base64,/);
      expect(tokens.invalidations).toBe(1);
      expect(host.wechat.gets(mediaId)).toBe(2);
    } finally {
      host.wechat.rotateToken('wx-1');
    }
  });

  it('WeChat file messages (no declared type): text files are read, others described by their served name', async () => {
    const txt = host.wechat.add({ bytes: Buffer.from('Table for 4, Friday 8pm'), mimeType: 'application/octet-stream', filename: 'booking.txt' });
    const docx = host.wechat.add({ bytes: Buffer.from('PK\x03\x04 not really a docx'), mimeType: 'application/octet-stream', filename: 'contract.docx' });
    const [t, d] = await resolver().enrich([
      message('wechat-kf', { type: 'document', media: { mediaId: txt } }),
      message('wechat-kf', { type: 'document', media: { mediaId: docx } }),
    ]);
    expect(t?.enrichment?.text).toBe('Table for 4, Friday 8pm');
    expect(t?.enrichment?.note).toBe('document, "booking.txt", text/plain, 23 B; text extracted');
    expect(d?.enrichment).toEqual({ note: 'document, "contract.docx", application/vnd.openxmlformats-officedocument.wordprocessingml.document, 22 B; its content cannot be read here' });
  });

  it('WeChat SILK voice (with the 0x02 byte) is decoded to WAV with silk-wasm and transcribed', async () => {
    const mediaId = host.wechat.add({ bytes: await silkSample(3), mimeType: 'application/octet-stream', filename: 'v.silk' });
    const [out] = await resolver().enrich([message('wechat-kf', { type: 'audio', voice: true, media: { mediaId } })]);
    expect(out?.enrichment?.error).toBeUndefined();
    expect(out?.enrichment?.transcript).toBe('I would like to change my delivery address');
    expect(out?.enrichment?.note).toBe('voice message, 3 s, transcribed');
    expect(host.transcriptions.requests).toHaveLength(1);
    const sent = host.transcriptions.requests[0]!;
    expect(sent.filename).toBe('voice.wav');
    expect(sent.bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
    // 3 s of 24 kHz 16-bit mono PCM behind a 44-byte header
    expect(sent.bytes.length).toBeGreaterThan(44 + 24_000 * 2 * 2.9);
  });

  it('SILK longer than MEDIA_MAX_AUDIO_SEC is refused before decoding', async () => {
    const mediaId = host.wechat.add({ bytes: await silkSample(3), mimeType: 'application/octet-stream', filename: 'v.silk' });
    const [out] = await resolver({ MEDIA_MAX_AUDIO_SEC: '2' }).enrich([message('wechat-kf', { type: 'audio', voice: true, media: { mediaId } })]);
    expect(out?.enrichment?.error).toBe('The voice message is 3 s long, over the 2 s transcription limit');
    expect(host.transcriptions.requests).toHaveLength(0);
  });

  it('a corrupt SILK file is a clear conversion error, never a crash', async () => {
    const mediaId = host.wechat.add({ bytes: silkHeaderSample(), mimeType: 'application/octet-stream', filename: 'v.silk' });
    const [out] = await resolver().enrich([message('wechat-kf', { type: 'audio', voice: true, media: { mediaId } })]);
    expect(out?.enrichment?.error).toMatch(/^The voice message could not be decoded as SILK: /);
    expect(host.transcriptions.requests).toHaveLength(0);
  });

  it('a "voice note" whose bytes are an HLS playlist naming a local file is refused as unsupported media; nothing is transcribed', async () => {
    const secretText = 'the vault code is 7311-SECRET';
    const secretAudio = join(tmp, 'secret-phrase.ogg');
    await writeFile(secretAudio, HAS_FFMPEG ? oggOpusSample(1) : Buffer.from(`OggS${secretText}`));
    await writeFile(join(tmp, 'secret.txt'), secretText);
    for (const bytes of [hlsPlaylist(secretAudio), hlsPlaylist(join(tmp, 'secret.txt')), ffconcatList(secretAudio)]) {
      const mediaId = host.whatsapp.add({ bytes, mimeType: 'audio/ogg; codecs=opus' });
      const [out] = await resolver().enrich([message('whatsapp', { type: 'audio', voice: true, media: { mediaId, mimeType: 'audio/ogg; codecs=opus' } })]);
      expect(out?.enrichment?.transcript).toBeUndefined();
      expect(out?.enrichment?.error).toBe('The voice message is unsupported media (a playlist or file list, not an audio format this assistant reads)');
      expect(JSON.stringify(out)).not.toContain('7311');
    }
    expect(host.transcriptions.requests).toHaveLength(0);
    expect(await counted('unsupported_type')).toBe(3);
  });

  it('a PDF decompression bomb becomes "too large to read"; a normal document in the same turn is still read', async () => {
    const bombUrl = host.chatwoot.add({ bytes: await pdfBomb(512 * 1024 * 1024), mimeType: 'application/pdf', filename: 'invoice.pdf' });
    const okUrl = host.chatwoot.add({ bytes: minimalPdf(['Order 5521']), mimeType: 'application/pdf', filename: 'order.pdf' });
    const [bomb, ok] = await resolver().enrich([
      message('chatwoot', { type: 'document', media: { url: bombUrl, filename: 'invoice.pdf' } }),
      message('chatwoot', { type: 'document', media: { url: okUrl, filename: 'order.pdf' } }),
    ]);
    expect(bomb?.enrichment?.error).toBe('The document "invoice.pdf" is too large to read (content streams inflate to more than 64 MB)');
    expect(ok?.enrichment?.text).toBe('Order 5521');
    expect(await counted('too_large')).toBe(1);
  }, 60_000);

  it('fresh machine: no ffmpeg on PATH, the npm-bundled ffmpeg converts WeChat AMR and the transcript arrives', async () => {
    const mediaId = host.wechat.add({ bytes: amrSample(2), mimeType: 'audio/amr', filename: 'voice.amr' });
    const [out] = await resolver({ PATH: join(tmp, 'no-ffmpeg-here') }).enrich([message('wechat-kf', { type: 'audio', voice: true, media: { mediaId } })]);
    expect(out?.enrichment?.error).toBeUndefined();
    expect(out?.enrichment?.note).toBe('voice message, 2 s, transcribed');
    expect(host.transcriptions.requests[0]!.filename).toBe('audio.mp3');
    const head = host.transcriptions.requests[0]!.bytes.subarray(0, 3);
    expect(head.toString('latin1') === 'ID3' || (head[0] === 0xff && (head[1]! & 0xe0) === 0xe0)).toBe(true);
  });

  it('Chatwoot image attachment: the data_url redirect is followed and the image becomes a data URL', async () => {
    const url = host.chatwoot.add({ bytes: PNG_1X1, mimeType: 'image/png', filename: 'screenshot.png' });
    const redirects = host.chatwoot.redirects();
    const [out] = await resolver().enrich([message('chatwoot', { type: 'image', media: { url, mimeType: 'image/png', caption: 'error on checkout' } })]);
    expect(host.chatwoot.redirects()).toBe(redirects + 1);
    expect(out?.enrichment?.imageDataUrl).toBe(`data:image/png;base64,${PNG_1X1.toString('base64')}`);
    expect(out?.enrichment?.note).toBe('image, image/png, 70 B');
    expect(out?.content).toMatchObject({ media: { caption: 'error on checkout' } });
  });

  it('Chatwoot PDF attachment: text extracted and capped; other documents get a note without a download', async () => {
    const pdfUrl = host.chatwoot.add({ bytes: minimalPdf(['Booking reference ZX81', 'Arrival 12 March']), mimeType: 'application/pdf', filename: 'booking.pdf' });
    const docxUrl = host.chatwoot.add({ bytes: Buffer.from('PK\x03\x04'), mimeType: 'application/octet-stream', filename: 'contract.docx' });
    const redirectsBefore = host.chatwoot.redirects();
    const [pdf, docx] = await resolver({ MEDIA_TEXT_MAX_CHARS: '200' }).enrich([
      message('chatwoot', { type: 'document', media: { url: pdfUrl, filename: 'booking.pdf' } }),
      message('chatwoot', { type: 'document', media: { url: docxUrl, filename: 'contract.docx', sizeBytes: 48_000 } }),
    ]);
    expect(pdf?.enrichment?.text).toBe('Booking reference ZX81\nArrival 12 March');
    expect(pdf?.enrichment?.note).toMatch(/^document, "booking.pdf", application\/pdf, .+, 1 page; text extracted$/);
    expect(docx?.enrichment).toEqual({
      note: 'document, "contract.docx", application/vnd.openxmlformats-officedocument.wordprocessingml.document, 47 KB; its content cannot be read here',
    });
    expect(host.chatwoot.redirects()).toBe(redirectsBefore + 1);
  });

  withFfmpeg(`video: a note with duration and size, and the sound track transcribed${note}`, async () => {
    const url = host.chatwoot.add({ bytes: mp4Sample(2), mimeType: 'video/mp4', filename: 'clip.mp4' });
    const [out] = await resolver().enrich([message('chatwoot', { type: 'video', media: { url } })]);
    expect(out?.enrichment?.note).toMatch(/^video, 2 s, [\d.]+ KB, 64×48$/);
    expect(out?.enrichment?.transcript).toBe('I would like to change my delivery address');
    expect(host.transcriptions.requests[0]!.filename).toMatch(/\.mp3$/);
  });

  withFfmpeg(`audio over MEDIA_MAX_AUDIO_SEC is not sent for transcription and the reason is given${note}`, async () => {
    const mediaId = host.whatsapp.add({ bytes: oggOpusSample(3), mimeType: 'audio/ogg' });
    const [out] = await resolver({ MEDIA_MAX_AUDIO_SEC: '2' }).enrich([message('whatsapp', { type: 'audio', voice: true, media: { mediaId } })]);
    expect(out?.enrichment?.error).toBe('The voice message is 3 s long, over the 2 s transcription limit');
    expect(host.transcriptions.requests).toHaveLength(0);
  });

  withFfmpeg(`a transcription error becomes enrichment.error and is counted${note}`, async () => {
    const mediaId = host.whatsapp.add({ bytes: oggOpusSample(1), mimeType: 'audio/ogg' });
    host.transcriptions.failNext(3, 500);
    const [out] = await resolver().enrich([message('whatsapp', { type: 'audio', voice: true, media: { mediaId } })]);
    expect(out?.enrichment?.error).toMatch(/^The voice message could not be transcribed \(HTTP 500/);
    expect(await counted('transcription_failed')).toBe(1);
  });

  it('without speech-to-text or a channel source the reason is given; text messages pass untouched', async () => {
    const r = createMediaResolver(loadConfig(mediaEnv, { MEDIA_TMP_DIR: tmp }), { log: silentLogger(), redis, keys: gatewayKeys(prefix).media, sources: {} });
    const text = message('whatsapp', { type: 'text', text: 'hello' });
    const [t, voice, img] = await r.enrich([
      text,
      message('whatsapp', { type: 'audio', voice: true, media: { mediaId: '1' } }),
      message('whatsapp', { type: 'image', media: { mediaId: '2' } }),
    ]);
    expect(t).toBe(text);
    expect(voice?.enrichment?.error).toBe('The voice message could not be transcribed: speech-to-text is not configured (OPENAI_API_KEY)');
    expect(img?.enrichment?.error).toBe('The image could not be fetched: media download is not configured for whatsapp');
  });

  it('without any ffmpeg an OGG voice note is still transcribed as it is; AMR gets a clear reason; images and PDFs work', async () => {
    const ogg = HAS_FFMPEG ? oggOpusSample(1) : Buffer.concat([Buffer.from('OggS'), Buffer.alloc(200)]);
    const voiceId = host.whatsapp.add({ bytes: ogg, mimeType: 'audio/ogg; codecs=opus' });
    const amrId = host.whatsapp.add({ bytes: amrSample(1), mimeType: 'audio/amr' });
    const imageId = host.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' });
    const r = resolver({ MEDIA_FFMPEG_PATH: join(tmp, 'no-such-dir', 'ffmpeg') });
    const [voice, amr, image] = await r.enrich([
      message('whatsapp', { type: 'audio', voice: true, media: { mediaId: voiceId } }),
      message('whatsapp', { type: 'audio', voice: true, media: { mediaId: amrId } }),
      message('whatsapp', { type: 'image', media: { mediaId: imageId } }),
    ]);
    // the OGG's own header gives its length, ffprobe or not
    expect(voice?.enrichment).toEqual({ transcript: 'I would like to change my delivery address', note: HAS_FFMPEG ? 'voice message, 1 s, transcribed' : 'voice message, transcribed' });
    expect(host.transcriptions.requests).toHaveLength(1);
    expect(host.transcriptions.requests[0]!.bytes.equals(ogg)).toBe(true);
    expect(amr?.enrichment?.error).toMatch(/^The voice message could not be processed: ffmpeg is not installed on this worker \(run `pnpm install`/);
    expect(image?.enrichment?.imageDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(await counted('ffmpeg_missing')).toBe(1);
  });

  it('deletes every downloaded file when enrichment ends', async () => {
    const mediaId = host.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' });
    const url = host.chatwoot.add({ bytes: Buffer.from('plain text order notes'), mimeType: 'text/plain', filename: 'notes.txt' });
    const out = await resolver().enrich([message('whatsapp', { type: 'image', media: { mediaId } }), message('chatwoot', { type: 'document', media: { url } })]);
    expect(out[1]?.enrichment?.text).toBe('plain text order notes');
    expect((await readdir(tmp)).filter((f) => f.startsWith('turn-'))).toEqual([]);
  });
});
