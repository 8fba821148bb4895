import type { InboundMessage, MessageContent } from '@switchboard/core';
import { isSilentTurn, renderContent, renderMessage, renderTurn, turnImages, typedText } from './render.js';

const ref = { channel: 'whatsapp' as const, account: 'a', userId: 'u' };
function m(content: MessageContent, extra: Partial<InboundMessage> = {}): InboundMessage {
  return { kind: 'message', eventId: 'e', providerMessageId: 'p', conversation: ref, sentAt: 0, receivedAt: 0, content, author: 'customer', ...extra };
}

describe('renderContent', () => {
  it.each<[MessageContent, string]>([
    [{ type: 'text', text: 'hello' }, 'hello'],
    [{ type: 'image', media: { caption: 'my broken screen' } }, '[image: my broken screen]'],
    [{ type: 'image', media: {} }, '[image]'],
    [{ type: 'audio', voice: true, media: {} }, '[voice message]'],
    [{ type: 'audio', voice: false, media: { filename: 'song.mp3' } }, '[audio file: song.mp3]'],
    [{ type: 'video', media: { caption: 'unboxing' } }, '[video: unboxing]'],
    [{ type: 'document', media: { filename: 'invoice.pdf', caption: 'see this' } }, '[document "invoice.pdf": see this]'],
    [{ type: 'sticker', media: {} }, '[sticker]'],
    [{ type: 'location', latitude: 40.4168, longitude: -3.7038, name: 'Puerta del Sol', address: 'Madrid' }, '[location: Puerta del Sol, Madrid (40.41680, -3.70380)]'],
    [{ type: 'location', latitude: 1, longitude: 2 }, '[location: (1.00000, 2.00000)]'],
    [{ type: 'contacts', contacts: [{ name: 'Ana', phones: ['+34 600'] }] }, '[shared contact: Ana (+34 600)]'],
    [{ type: 'interactive', interaction: 'button_reply', id: 'b1', title: 'Track order' }, '[selected: Track order]'],
    [{ type: 'reaction', targetMessageId: 'x', emoji: '❤️' }, '[reacted ❤️ to a message]'],
    [{ type: 'order', items: [{ productId: 'SKU1', quantity: 2, price: 9.5, currency: 'EUR' }], text: 'asap' }, '[order: 2 × SKU1 at 9.5 EUR] asap'],
    [{ type: 'link', url: 'https://x.example', title: 'X' }, '[link: X — https://x.example]'],
    [{ type: 'card', cardType: 'miniprogram', summary: 'Shop' }, '[miniprogram: Shop]'],
    [{ type: 'merged', title: 'Chat', items: [{ sender: 'Bo', text: 'hi' }] }, '[forwarded chat: Chat]\nBo: hi'],
    [{ type: 'system', text: 'user changed number' }, '[system: user changed number]'],
    [{ type: 'unsupported', providerType: 'poll' }, '[unsupported message: poll]'],
  ])('%j → %s', (content, expected) => {
    expect(renderContent(content)).toBe(expected);
  });
});

describe('turn helpers', () => {
  it('renders a burst in order and marks forwarded and support-agent messages', () => {
    const t = renderTurn([m({ type: 'text', text: 'a' }), m({ type: 'text', text: 'b' }, { forwarded: true }), m({ type: 'text', text: 'c' }, { author: 'human_agent' })]);
    expect(t).toBe('a\n[forwarded] b\n[support agent] c');
  });
  it('knows silent turns and typed text', () => {
    expect(isSilentTurn([m({ type: 'reaction', targetMessageId: 'x' })])).toBe(true);
    expect(isSilentTurn([m({ type: 'reaction', targetMessageId: 'x' }), m({ type: 'text', text: 'hi' })])).toBe(false);
    expect(typedText([m({ type: 'text', text: 'hi' }), m({ type: 'interactive', interaction: 'list_reply', title: 'Shoes' })])).toEqual({ text: 'hi\nShoes', textOnly: true });
    expect(typedText([m({ type: 'text', text: 'look' }), m({ type: 'image', media: {} })]).textOnly).toBe(false);
  });
});

describe('renderMessage with the media pipeline\'s enrichment', () => {
  it('adds the note and the transcript of a voice message', () => {
    expect(renderMessage(m({ type: 'audio', voice: true, media: {} }, { enrichment: { transcript: 'where is my parcel', note: 'voice message, 3 s, transcribed' } }))).toBe(
      '[voice message]\n(voice message, 3 s, transcribed)\nTranscript of the voice message: where is my parcel',
    );
  });
  it('adds the text of a document, and why an attachment could not be read', () => {
    expect(renderMessage(m({ type: 'document', media: { filename: 'a.pdf' } }, { enrichment: { text: 'Total 12 EUR' } }))).toBe('[document "a.pdf"]\nText of the document:\n"""\nTotal 12 EUR\n"""');
    expect(renderMessage(m({ type: 'image', media: { caption: 'see' } }, { enrichment: { error: 'The image is too large (7 MB, over the 5 MB limit)' } }))).toBe(
      '[image: see]\n[The assistant could not read this attachment: The image is too large (7 MB, over the 5 MB limit). Tell the customer and ask them to describe it or send it another way.]',
    );
  });
  it('leaves plain messages alone and hands images to the model', () => {
    expect(renderMessage(m({ type: 'text', text: 'hi' }))).toBe('hi');
    const img = m({ type: 'image', media: {} }, { enrichment: { imageDataUrl: 'data:image/png;base64,AA==' } });
    expect(renderMessage(img)).toBe('[image]\n(the image is attached)');
    expect(turnImages([img, m({ type: 'text', text: 'x' })])).toEqual(['data:image/png;base64,AA==']);
  });
});

describe('real provider payloads (issue 12)', () => {
  it('a WhatsApp Flow reply shows its fields, never flow_token', () => {
    const text = renderContent({ type: 'interactive', interaction: 'nfm_reply', title: 'Sent', response: { flow_token: 'secret-token', date: '2026-12-05', size: 2, extras: ['a', 'b'], empty: '' } });
    expect(text).toBe('[submitted a form]\ndate: 2026-12-05\nsize: 2\nextras: a, b');
    expect(text).not.toContain('secret-token');
    expect(renderContent({ type: 'interactive', interaction: 'nfm_reply', title: 'Sent', response: '{"broken' })).toBe('[submitted a form]\n{"broken');
    const long = renderContent({ type: 'interactive', interaction: 'nfm_reply', title: 'Sent', response: { note: 'x'.repeat(5000) } });
    expect(long.length).toBeLessThan(600);
  });

  it('a form reply is never typed text (no FAQ or cache hit on "Sent")', () => {
    expect(typedText([m({ type: 'interactive', interaction: 'nfm_reply', title: 'Sent', response: { a: 1 } })])).toEqual({ text: '', textOnly: false });
  });

  it('an edited message and an ad referral are marked for the agent', () => {
    expect(renderMessage(m({ type: 'text', text: 'order 4822' }, { editOf: 'wamid.O' }))).toBe('[edited an earlier message] order 4822');
    const withAd = renderMessage(m({ type: 'text', text: 'still available?' }, { referral: { sourceType: 'ad', headline: 'Winter sale', body: 'Boots', sourceUrl: 'https://fb.me/x', mediaType: 'image' } }));
    expect(withAd).toBe('[The customer came from an ad (image): "Winter sale" — "Boots" https://fb.me/x]\nstill available?');
  });
});
