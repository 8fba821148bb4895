import { ffmpegAvailable, oggOpusSample, PNG_1X1, startFakeMediaHost, waitFor, type FakeMediaHost } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(60_000);

const PNID = '109876543210987';

/** The fake CDN is on loopback and on another origin than the fake Graph: it plays Meta's media host. */
const mediaHostOrigins = (url: string) => ({ FETCH_ALLOWED_ORIGINS: url, WHATSAPP_MEDIA_ORIGINS: url });

function mediaDelivery(waId: string, type: 'audio' | 'image' | 'document', body: Record<string, unknown>) {
  const wamid = `wamid.MEDIA${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: PNID }, contacts: [{ wa_id: waId, profile: { name: 'M' } }], messages: [{ from: waId, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type, [type]: body }] } }] }],
  };
}

function lastUserContent(p: Pipeline): unknown {
  const req = p.openai.requests[p.openai.requests.length - 1];
  return [...(req?.messages ?? [])].reverse().find((m) => m.role === 'user')?.content;
}

describe('media end to end (WhatsApp, real Redis, fake Graph + media host + OpenAI)', () => {
  let media: FakeMediaHost;
  let p: Pipeline;
  beforeAll(async () => {
    media = await startFakeMediaHost({ whatsappToken: 'harness-access-token' });
    p = await startPipeline({ graphProxy: media.url, openai: { transcript: 'I would like to change my delivery address' }, env: { MEDIA_IMAGE_MAX_BYTES: '200000', ...mediaHostOrigins(media.url) } });
  });
  afterAll(async () => {
    await p.close();
    await media.close();
  });

  const transcriptions = () => p.openai.calls.filter((c) => c.path.endsWith('/audio/transcriptions')).length;

  (ffmpegAvailable() ? it : it.skip)('a voice note is fetched with the token, transcribed once, and the agent answers the transcript', async () => {
    const id = media.whatsapp.add({ bytes: oggOpusSample(1), mimeType: 'audio/ogg; codecs=opus' });
    const before = transcriptions();
    expect(await p.postWhatsApp(mediaDelivery('15551600001', 'audio', { id, mime_type: 'audio/ogg; codecs=opus', voice: true }))).toBe(200);
    await waitFor(() => p.graph.textsTo('15551600001').length === 1, 30_000, 'reply to the voice note');
    expect(media.whatsapp.lookups(id)).toBe(1);
    expect(media.whatsapp.downloads(id)).toBe(1);
    const download = media.calls.find((c) => c.method === 'GET' && c.status === 200 && !c.path.includes(id) && c.headers.authorization);
    expect(download?.headers.authorization).toBe('Bearer harness-access-token');
    expect(transcriptions() - before).toBe(1);
    expect(JSON.stringify(lastUserContent(p))).toContain('I would like to change my delivery address');
    expect(JSON.stringify(lastUserContent(p))).toContain('voice message');
  });

  it('an image with a caption reaches the model as an image part with the caption', async () => {
    const id = media.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' });
    await p.postWhatsApp(mediaDelivery('15551600002', 'image', { id, mime_type: 'image/png', caption: 'Is this the right charger?' }));
    await waitFor(() => p.graph.textsTo('15551600002').length === 1, 30_000, 'reply to the image');
    const content = lastUserContent(p) as Array<{ type: string; text?: string; image_url?: { url: string } }>;
    expect(Array.isArray(content)).toBe(true);
    expect(content.find((c) => c.type === 'text')?.text).toContain('Is this the right charger?');
    expect(content.find((c) => c.type === 'image_url')?.image_url?.url).toMatch(/^data:image\/png;base64,/);
  });

  it('an oversized file still gets an answer that says it could not be read', async () => {
    const big = Buffer.alloc(400_000, 1);
    const id = media.whatsapp.add({ bytes: Buffer.concat([PNG_1X1, big]), mimeType: 'image/png' });
    await p.postWhatsApp(mediaDelivery('15551600003', 'image', { id, mime_type: 'image/png', file_size: big.length + PNG_1X1.length }));
    await waitFor(() => p.graph.textsTo('15551600003').length === 1, 30_000, 'reply to the oversized image');
    expect(JSON.stringify(lastUserContent(p))).toMatch(/could not read this attachment/);
  });
});
