import { InboundEvent } from '@switchboard/core';
import { fixtureJson } from '@switchboard/testkit';
import { renderContent } from '@switchboard/agent';
import { normalizeChatwootWebhook } from './chatwoot.parse.js';
import { relayedReply } from './chatwoot.relay-media.js';

const ORIGIN = 'https://chat.acme.example';
const MIRROR = { botId: 4, accountId: 7, mirrorInboxId: 23 };
const original = { channel: 'whatsapp' as const, account: '1234567', userId: '4915112345678', address: '4915112345678' };

function agentReply(attachments: unknown[], content: string | null) {
  const p = fixtureJson<Record<string, unknown>>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
  return { ...p, content, attachments };
}

function attachment(file_type: string, content_type: string, name: string, origin = ORIGIN) {
  return { id: 1, message_id: 551230, file_type, account_id: 7, extension: name.split('.').pop(), content_type, data_url: `${origin}/rails/active_storage/blobs/redirect/eyJ--x/${name}`, thumb_url: '', file_size: 1234 };
}

function relayed(payload: unknown) {
  const events = normalizeChatwootWebhook(payload, MIRROR, { receivedAt: 1, mirroredRef: original });
  for (const e of events) expect(InboundEvent.safeParse(e).success).toBe(true);
  return events.map((e) => (e.kind === 'message' ? relayedReply(e.content, renderContent, ORIGIN) : undefined));
}

describe("an agent's attachment in the mirror inbox", () => {
  it('goes out as reply media of its type and name, by its data_url, after the text', () => {
    const [pdf] = relayed(agentReply([attachment('file', 'application/pdf', 'invoice-4821.pdf')], 'Here is your invoice'));
    expect(pdf).toEqual({
      reply: { text: 'Here is your invoice', media: [{ kind: 'document', url: `${ORIGIN}/rails/active_storage/blobs/redirect/eyJ--x/invoice-4821.pdf`, mimeType: 'application/pdf', filename: 'invoice-4821.pdf' }] },
    });
  });

  it('several files become one reply each, the text with the first', () => {
    const [audio, image, video] = relayed(agentReply([attachment('audio', 'audio/mpeg', 'note.mp3'), attachment('image', 'image/png', 'a.png'), attachment('video', 'video/mp4', 'b.mp4')], 'Listen'));
    expect(audio?.reply).toMatchObject({ text: 'Listen', media: [{ kind: 'audio', mimeType: 'audio/mpeg', filename: 'note.mp3' }] });
    expect(image?.reply).toMatchObject({ text: '', media: [{ kind: 'image', mimeType: 'image/png', filename: 'a.png' }] });
    expect(video?.reply).toMatchObject({ text: '', media: [{ kind: 'video', mimeType: 'video/mp4', filename: 'b.mp4' }] });
  });

  it('a URL on another origin is refused, never sent; the text still goes', () => {
    const [out] = relayed(agentReply([attachment('file', 'application/pdf', 'x.pdf', 'http://169.254.169.254')], 'see file'));
    expect(out?.reply).toEqual({ text: 'see file' });
    expect(out?.refused).toMatchObject({ url: 'http://169.254.169.254/rails/active_storage/blobs/redirect/eyJ--x/x.pdf', filename: 'x.pdf' });
    expect(out?.refused?.why).toContain('not on this Chatwoot');
    const [lookalike] = relayed(agentReply([attachment('image', 'image/png', 'y.png', 'https://chat.acme.example.evil.test')], null));
    expect(lookalike?.reply).toBeUndefined();
    expect(lookalike?.refused).toBeDefined();
  });

  it('plain text is relayed as text', () => {
    const [out] = relayed(agentReply([], 'Your parcel left today'));
    expect(out).toEqual({ reply: { text: 'Your parcel left today' } });
  });
});
