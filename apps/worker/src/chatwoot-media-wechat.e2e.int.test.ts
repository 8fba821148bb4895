import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { amrSample, encryptWechatCallback, FakeWecom, ffmpegAvailable, fixtureJson, kfCallbackXml, minimalPdf, PNG_1X1, waitFor, WECHAT_TEST_CONFIG, type FakeChatwoot, type FakeChatwootMessage } from '@switchboard/testkit';
import { createWechatIngressApp } from '@switchboard/wechat-ingress/app';
import { HARNESS_MIRROR_INBOX, startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

const KF = 'wkCwMedia00000000000000000000001';
const KEYS = WECHAT_TEST_CONFIG;
const PDF = minimalPdf(['Rechnung 5521', 'Betrag 42 EUR']);
const TRANSCRIPT = '我想改一下收货地址';
let seq = 0;
const newUser = () => `wmCwMedia${++seq}x${Date.now()}`;

type Payload = Record<string, unknown> & { conversation: Record<string, unknown> };

/**
 * WeChat Kefu and the Chatwoot mirror, with media: customer files (WeCom `media/get`) become
 * Chatwoot attachments with a note of the document's text; an agent's attachment goes out through
 * `media/upload` and `kf/send_msg` by media_id.
 */
describe('chatwoot mirror media end to end (WeChat Kefu)', () => {
  let p: Pipeline;
  let wecom: FakeWecom;
  let cw: FakeChatwoot;
  let server: Server;
  let ingressUrl = '';
  let ingressRedis: RedisClient;
  let ingressProducers: Producers;

  beforeAll(async () => {
    wecom = await FakeWecom.start({ corpId: KEYS.corpId });
    p = await startPipeline({
      chatwoot: true,
      chatwootFetchAllowed: true,
      roles: ['inbound', 'agent', 'outbound', 'mirror'],
      openai: { transcript: TRANSCRIPT },
      env: { WECHAT_TOKEN: KEYS.token, WECHAT_AESKEY: KEYS.encodingAESKey, WECHAT_CORP_ID: KEYS.corpId, WECHAT_SECRET: wecom.secret, WECHAT_API_URL: wecom.url, WECHAT_SYNC_LOCK_MS: '1000' },
    });
    cw = p.chatwoot!;
    ingressRedis = createRedis(p.env.REDIS_URL, 'producer');
    ingressRedis.on('error', () => undefined);
    await waitReady(ingressRedis);
    ingressProducers = new Producers(ingressRedis, p.prefix);
    const app = createWechatIngressApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'cw-media-wechat' }),
      producers: ingressProducers,
      redis: ingressRedis,
      settings: { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 65536 },
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    ingressUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    await ingressProducers.close();
    ingressRedis.disconnect();
    await p.close();
    await wecom.close();
  });

  async function callback(): Promise<void> {
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: wecom.callbackToken(), openKfId: KF }));
    const res = await fetch(`${ingressUrl}/webhooks/wechat-kf${cb.search}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.body });
    expect(res.status).toBe(200);
    await res.text();
  }

  function customerFile(user: string, msgtype: 'image' | 'file' | 'voice', mediaId: string): void {
    wecom.addMessages(KF, [{ msgid: `m${mediaId}`, open_kfid: KF, external_userid: user, send_time: Math.floor(Date.now() / 1000), origin: 3, msgtype, [msgtype]: { media_id: mediaId } }]);
  }

  function mirrorConversation(user: string): number | undefined {
    const contact = cw.contacts.find((c) => c.identifier === `wechat:${user}`);
    return [...cw.conversations.values()].find((c) => c.inbox_id === HARNESS_MIRROR_INBOX && c.contact_id === contact?.id)?.id;
  }
  const mirrored = (user: string): FakeChatwootMessage[] => {
    const id = mirrorConversation(user);
    return id === undefined ? [] : cw.messagesIn(id);
  };

  it('a customer image and PDF on WeChat become Chatwoot attachments, the PDF with its text as a private note', async () => {
    const user = newUser();
    wecom.addMedia('wxImg1', PNG_1X1, 'image/png', 'photo.png');
    wecom.addMedia('wxPdf1', PDF, 'application/pdf', 'rechnung-5521.pdf');
    customerFile(user, 'image', 'wxImg1');
    customerFile(user, 'file', 'wxPdf1');
    await callback();
    await waitFor(() => mirrored(user).some((m) => m.private && m.content?.includes('Rechnung 5521')), 30_000, 'document note');
    await waitFor(() => mirrored(user).filter((m) => (m.attachments?.length ?? 0) > 0).length === 2, 30_000, 'two attachments');
    const files = mirrored(user).flatMap((m) => m.attachments ?? []);
    expect(files.map((f) => [f.fileType, f.contentType]).sort()).toEqual([
      ['file', 'application/pdf'],
      ['image', 'image/png'],
    ]);
    expect(files.find((f) => f.fileType === 'file')?.filename).toBe('rechnung-5521.pdf');
    expect(files.find((f) => f.fileType === 'image')?.bytes.equals(PNG_1X1)).toBe(true);
    expect(mirrored(user).filter((m) => m.private)).toHaveLength(1);
  });

  (ffmpegAvailable() ? it : it.skip)('a WeChat voice note (AMR): the audio attached, its transcript as a private note', async () => {
    const user = newUser();
    wecom.addMedia('wxVoice1', amrSample(1), 'audio/amr', 'voice.amr');
    customerFile(user, 'voice', 'wxVoice1');
    await callback();
    await waitFor(() => mirrored(user).some((m) => m.private && m.content?.includes(TRANSCRIPT)), 30_000, 'transcript note');
    const audio = mirrored(user).filter((m) => (m.attachments?.length ?? 0) > 0);
    expect(audio).toHaveLength(1);
    expect(audio[0]?.attachments?.[0]).toMatchObject({ fileType: 'audio', contentType: 'audio/amr' });
    expect(mirrored(user).find((m) => m.private)?.content).toContain('Transcript of the voice message');
  });

  it("an agent's PDF in Chatwoot goes out on WeChat: media/upload as a file, then kf/send_msg by media_id", async () => {
    const user = newUser();
    wecom.customerText(KF, user, '请把发票发给我');
    await callback();
    await waitFor(() => mirrorConversation(user) !== undefined && wecom.sentTo(user).length === 1, 30_000, 'mirror conversation and bot reply');
    const blob = cw.addBlob({ bytes: PDF, contentType: 'application/pdf', filename: 'fapiao-5521.pdf' });
    const base = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
    const conv = cw.conversations.get(mirrorConversation(user)!)!;
    const reply = {
      ...base,
      id: 8_800_001,
      content: '这是您的发票',
      attachments: [blob],
      account: { id: cw.accountId, name: 'Acme' },
      inbox: { id: HARNESS_MIRROR_INBOX, name: 'WeChat (gateway)' },
      conversation: { ...base.conversation, id: conv.id, inbox_id: HARNESS_MIRROR_INBOX, contact_inbox: { contact_id: conv.contact_id, source_id: conv.source_id } },
    };
    expect(await p.postChatwoot(reply, 'wx-media-1')).toBe(200);
    const files = () => wecom.sentTo(user).filter((m) => m.msgtype === 'file');
    await waitFor(() => files().length === 1, 30_000, 'file sent on WeChat');
    const upload = wecom.uploads.find((u) => u.filename === 'fapiao-5521.pdf');
    expect(upload).toMatchObject({ type: 'file', size: PDF.length });
    expect(files()[0]?.body).toMatchObject({ file: { media_id: upload?.mediaId } });
    // WeChat files carry no caption: the agent's text went as its own message
    await waitFor(() => wecom.sentTo(user).some((m) => m.msgtype === 'text' && JSON.stringify(m.body).includes('这是您的发票')), 15_000, 'caption text');
    expect(await p.postChatwoot(reply, 'wx-media-2')).toBe(200);
    wecom.customerText(KF, user, '收到');
    await callback();
    await waitFor(() => mirrored(user).some((m) => m.content === '收到'), 30_000, 'next message mirrored');
    expect(files()).toHaveLength(1);
  });
});
