import type { InboundMessage, MessageContent } from '@switchboard/core';
import { describeEnriched, imageUrlOf } from './media.describe.js';

function msg(content: MessageContent, enrichment?: InboundMessage['enrichment']): InboundMessage {
  return {
    kind: 'message',
    eventId: 'e',
    providerMessageId: 'p',
    conversation: { channel: 'whatsapp', account: 'a', userId: 'u' },
    sentAt: 0,
    receivedAt: 0,
    content,
    author: 'customer',
    ...(enrichment ? { enrichment } : {}),
  };
}

describe('describeEnriched', () => {
  it('marks a transcript as a voice message', () => {
    expect(describeEnriched(msg({ type: 'audio', voice: true, media: {} }, { transcript: 'where is my parcel', note: 'voice message, 3 s, transcribed' }))).toBe(
      '[voice message]\n(voice message, 3 s, transcribed)\nTranscript of the voice message: where is my parcel',
    );
  });

  it('quotes extracted document text and tells the agent what could not be read', () => {
    expect(describeEnriched(msg({ type: 'document', media: { filename: 'a.pdf' } }, { text: 'Total 12 EUR' }))).toBe('[document: a.pdf]\nText of the document:\n"""\nTotal 12 EUR\n"""');
    expect(describeEnriched(msg({ type: 'image', media: { caption: 'see' } }, { error: 'The image is too large (7 MB, over the 5 MB limit)' }))).toBe(
      '[image] see\n[The assistant could not read this attachment: The image is too large (7 MB, over the 5 MB limit). Tell the customer and ask them to describe it or send it another way.]',
    );
  });

  it('leaves messages without enrichment as core renders them and exposes the image part', () => {
    expect(describeEnriched(msg({ type: 'text', text: 'hi' }))).toBe('hi');
    expect(imageUrlOf(msg({ type: 'image', media: {} }, { imageDataUrl: 'data:image/png;base64,AA==' }))).toBe('data:image/png;base64,AA==');
  });
});
