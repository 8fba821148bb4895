import { ffmpegAvailable, minimalPdf, oggOpusSample, PNG_1X1, startFakeMediaHost, telegramTextUpdate, waitFor, type FakeChatwoot, type FakeChatwootMessage, type FakeMediaHost } from '@switchboard/testkit';
import { fixtureJson } from '@switchboard/testkit';
import { HARNESS_MIRROR_INBOX, startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

/**
 * Media between the channels and the Chatwoot mirror, the whole pipeline in one process: customer
 * files on WhatsApp (fake Graph + media host) become Chatwoot attachments with private notes of
 * what was read; an agent's attachment in the mirror inbox goes out as real media on WhatsApp and
 * Telegram (fake Bot API); a URL on another origin is refused.
 */
const PNID = '109876543210987';
const TRANSCRIPT = 'Please deliver to my neighbour at number 12';
const PDF = minimalPdf(['Invoice 4821', 'Total 99 EUR']);

/** Whether a Graph send went to this WhatsApp user (`to` as given, or the recipient field). */
const sentTo = (m: { to?: string; recipient?: string }, waId: string) => m.to === waId || m.to === `+${waId}` || m.recipient === waId;

type Payload = Record<string, unknown> & { conversation: Record<string, unknown> };

function waDelivery(waId: string, type: 'text' | 'audio' | 'image' | 'document', body: Record<string, unknown>) {
  const wamid = `wamid.CWM${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
  return {
    wamid,
    payload: {
      object: 'whatsapp_business_account',
      entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: PNID }, contacts: [{ wa_id: waId, profile: { name: 'Jonas' } }], messages: [{ from: waId, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type, [type]: body }] } }] }],
    },
  };
}

describe('chatwoot mirror media end to end', () => {
  let media: FakeMediaHost;
  let p: Pipeline;
  let cw: FakeChatwoot;

  beforeAll(async () => {
    media = await startFakeMediaHost({ whatsappToken: 'harness-access-token' });
    p = await startPipeline({
      chatwoot: true,
      chatwootFetchAllowed: true,
      telegram: true,
      graphProxy: media.url,
      openai: { transcript: TRANSCRIPT },
      roles: ['inbound', 'agent', 'outbound', 'mirror'],
      env: { FETCH_ALLOWED_ORIGINS: media.url, WHATSAPP_MEDIA_ORIGINS: media.url },
    });
    cw = p.chatwoot!;
  });
  afterAll(async () => {
    await p.close();
    await media.close();
  });

  /** The mirror conversation of a channel user (its contact identifier, e.g. `wa:<id>`). */
  function mirrorConversation(identifier: string): number | undefined {
    const contact = cw.contacts.find((c) => c.identifier === identifier);
    return [...cw.conversations.values()].find((c) => c.inbox_id === HARNESS_MIRROR_INBOX && c.contact_id === contact?.id)?.id;
  }
  const mirrored = (identifier: string): FakeChatwootMessage[] => {
    const id = mirrorConversation(identifier);
    return id === undefined ? [] : cw.messagesIn(id);
  };

  function agentReply(identifier: string, messageId: number, content: string | null, attachments: unknown[]): Payload {
    const base = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
    const conv = cw.conversations.get(mirrorConversation(identifier)!)!;
    return {
      ...base,
      id: messageId,
      content,
      attachments,
      account: { id: cw.accountId, name: 'Acme' },
      inbox: { id: HARNESS_MIRROR_INBOX, name: 'WhatsApp (gateway)' },
      conversation: { ...base.conversation, id: conv.id, inbox_id: HARNESS_MIRROR_INBOX, contact_inbox: { contact_id: conv.contact_id, source_id: conv.source_id } },
    };
  }

  it('a customer photo on WhatsApp becomes a Chatwoot attachment with its caption; a redelivery posts nothing new', async () => {
    const waId = '4915170000001';
    const id = media.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' });
    const photo = waDelivery(waId, 'image', { id, mime_type: 'image/png', caption: 'Is this the right charger?' });
    expect(await p.postWhatsApp(photo.payload)).toBe(200);
    await waitFor(() => mirrored(`wa:${waId}`).some((m) => (m.attachments?.length ?? 0) > 0), 30_000, 'mirrored photo');
    const [posted] = mirrored(`wa:${waId}`).filter((m) => (m.attachments?.length ?? 0) > 0);
    expect(posted).toMatchObject({ message_type: 0, private: false, content: 'Is this the right charger?' });
    expect(posted?.attachments?.[0]).toMatchObject({ fileType: 'image', contentType: 'image/png' });
    expect(posted?.attachments?.[0]?.bytes.equals(PNG_1X1)).toBe(true);
    // the same webhook again, then a new message: once that one is mirrored, the photo is still there once
    expect(await p.postWhatsApp(photo.payload)).toBe(200);
    const next = waDelivery(waId, 'text', { body: 'thanks' });
    await p.postWhatsApp(next.payload);
    await waitFor(() => mirrored(`wa:${waId}`).some((m) => m.content === 'thanks'), 30_000, 'mirrored text');
    expect(mirrored(`wa:${waId}`).filter((m) => (m.attachments?.length ?? 0) > 0)).toHaveLength(1);
    expect(mirrored(`wa:${waId}`).filter((m) => m.private)).toHaveLength(0);
  });

  (ffmpegAvailable() ? it : it.skip)('a voice note on WhatsApp: the audio attached, its transcript as a private note, once each', async () => {
    const waId = '4915170000002';
    const id = media.whatsapp.add({ bytes: oggOpusSample(1), mimeType: 'audio/ogg; codecs=opus' });
    const voice = waDelivery(waId, 'audio', { id, mime_type: 'audio/ogg; codecs=opus', voice: true });
    await p.postWhatsApp(voice.payload);
    await waitFor(() => mirrored(`wa:${waId}`).some((m) => m.private && m.content?.includes(TRANSCRIPT)), 30_000, 'transcript note');
    const audio = mirrored(`wa:${waId}`).filter((m) => (m.attachments?.length ?? 0) > 0);
    expect(audio).toHaveLength(1);
    expect(audio[0]).toMatchObject({ message_type: 0, private: false });
    expect(audio[0]?.attachments?.[0]).toMatchObject({ fileType: 'audio', contentType: 'audio/ogg' });
    const note = mirrored(`wa:${waId}`).find((m) => m.private);
    expect(note?.content).toContain('Transcript of the voice message');
    expect(note?.source_id).toBe(`${audio[0]?.source_id?.replace('sb:incoming:', 'sb:note:')}#note`);
    // the bot answered the transcript too
    await waitFor(() => p.graph.textsTo(waId).length === 1, 30_000, 'bot reply');
  });

  it('a PDF on WhatsApp: the file attached under its name, its text as a private note', async () => {
    const waId = '4915170000003';
    const id = media.whatsapp.add({ bytes: PDF, mimeType: 'application/pdf' });
    await p.postWhatsApp(waDelivery(waId, 'document', { id, mime_type: 'application/pdf', filename: 'invoice-4821.pdf' }).payload);
    await waitFor(() => mirrored(`wa:${waId}`).some((m) => m.private && m.content?.includes('Invoice 4821')), 30_000, 'document note');
    const file = mirrored(`wa:${waId}`).find((m) => (m.attachments?.length ?? 0) > 0);
    expect(file?.attachments?.[0]).toMatchObject({ fileType: 'file', filename: 'invoice-4821.pdf', contentType: 'application/pdf' });
    expect(mirrored(`wa:${waId}`).find((m) => m.private)?.content).toContain('Text of the document "invoice-4821.pdf"');
  });

  it("an agent's PDF in Chatwoot goes out on WhatsApp as an uploaded document with its name; a redelivered webhook sends nothing twice", async () => {
    const waId = '4915170000004';
    await p.postWhatsApp(waDelivery(waId, 'text', { body: 'can I have my invoice?' }).payload);
    await waitFor(() => mirrorConversation(`wa:${waId}`) !== undefined && p.graph.textsTo(waId).length === 1, 30_000, 'mirror conversation and bot reply');
    const blob = cw.addBlob({ bytes: PDF, contentType: 'application/pdf', filename: 'invoice-4821.pdf' });
    const reply = agentReply(`wa:${waId}`, 7_700_001, 'Here is your invoice', [blob]);
    expect(await p.postChatwoot(reply, 'media-d1')).toBe(200);
    const documents = () => p.graph.sent.filter((m) => sentTo(m, waId) && m.type === 'document');
    await waitFor(() => documents().length === 1, 30_000, 'document sent on WhatsApp');
    const upload = media.uploads.find((u) => u.channel === 'whatsapp' && u.filename === 'invoice-4821.pdf');
    expect(upload).toMatchObject({ contentType: 'application/pdf' });
    expect(upload?.bytes.equals(PDF)).toBe(true);
    expect(documents()[0]?.body).toMatchObject({ document: { id: upload?.id, filename: 'invoice-4821.pdf' } });
    expect(p.graph.textsTo(waId)).toContain('Here is your invoice');
    // the blob was fetched through its redirect, with no Chatwoot token on any hop
    const blobCalls = cw.requests.filter((r) => r.path.startsWith('/rails/active_storage/'));
    expect(blobCalls.map((r) => r.path.split('/')[3])).toEqual(expect.arrayContaining(['blobs', 'disk']));
    expect(blobCalls.every((r) => r.headers['api_access_token'] === undefined && r.headers['api-access-token'] === undefined)).toBe(true);
    // the same webhook delivered again (another delivery id), then a new reply: the document went once
    expect(await p.postChatwoot(reply, 'media-d2')).toBe(200);
    await p.postChatwoot(agentReply(`wa:${waId}`, 7_700_002, 'Anything else?', []), 'media-d3');
    await waitFor(() => p.graph.textsTo(waId).includes('Anything else?'), 30_000, 'next reply');
    expect(documents()).toHaveLength(1);
    // the human owns the conversation now: no agent turn, yet a customer's PDF still gets its text note
    const answered = p.graph.textsTo(waId).length;
    const id = media.whatsapp.add({ bytes: minimalPdf(['Signed form 77']), mimeType: 'application/pdf' });
    await p.postWhatsApp(waDelivery(waId, 'document', { id, mime_type: 'application/pdf', filename: 'form.pdf' }).payload);
    await waitFor(() => mirrored(`wa:${waId}`).some((m) => m.private && m.content?.includes('Signed form 77')), 30_000, 'note while human-owned');
    expect(mirrored(`wa:${waId}`).find((m) => m.attachments?.[0]?.filename === 'form.pdf')).toBeDefined();
    expect(p.graph.textsTo(waId)).toHaveLength(answered);
  });

  it("an attachment URL on another origin is refused (not fetched, counted) and the agent is told; the text still goes", async () => {
    const waId = '4915170000005';
    await p.postWhatsApp(waDelivery(waId, 'text', { body: 'hello' }).payload);
    await waitFor(() => mirrorConversation(`wa:${waId}`) !== undefined && p.graph.textsTo(waId).length === 1, 30_000, 'mirror conversation');
    const foreign = { ...cw.addBlob({ bytes: PDF, contentType: 'application/pdf', filename: 'x.pdf' }), data_url: `${media.url}/private/x.pdf` };
    await p.postChatwoot(agentReply(`wa:${waId}`, 7_700_010, 'See the attached file', [foreign]));
    await waitFor(() => p.graph.textsTo(waId).includes('See the attached file'), 30_000, 'text sent');
    const conv = mirrorConversation(`wa:${waId}`)!;
    await waitFor(() => cw.messagesIn(conv).some((m) => m.private && /x\.pdf.*not sent/.test(m.content ?? '')), 15_000, 'note to the agent');
    expect(media.calls.some((c) => c.path.includes('/private/x.pdf'))).toBe(false);
    expect(p.graph.sent.filter((m) => sentTo(m, waId) && m.type === 'document')).toHaveLength(0);
    expect(await p.deps.registry.getSingleMetricAsString('sb_fetch_refused_total')).toMatch(/reason="foreign_origin"[^\n]* [1-9]/);
  });

  it("an agent's image in Chatwoot goes out on Telegram as a photo upload", async () => {
    const chatId = 5559001;
    await p.postTelegram(telegramTextUpdate({ chatId, text: 'send me the picture' }));
    await waitFor(() => mirrorConversation(`tg:${chatId}`) !== undefined, 30_000, 'telegram mirror conversation');
    const blob = cw.addBlob({ bytes: PNG_1X1, contentType: 'image/png', filename: 'label.png' });
    await p.postChatwoot(agentReply(`tg:${chatId}`, 7_700_020, 'Your shipping label', [blob]));
    const photos = () => p.telegram!.sent.filter((m) => m.chatId === String(chatId) && m.method === 'sendPhoto');
    await waitFor(() => photos().length === 1, 30_000, 'photo sent on Telegram');
    expect(photos()[0]?.media).toMatch(/^upload:label\.png:/);
    expect(p.telegram!.textsTo(String(chatId))).toContain('Your shipping label');
  });
});
