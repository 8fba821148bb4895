import { describeContent, type InboundMessage } from '@switchboard/core';

/**
 * What the agent should read for one customer message once the media pipeline ran: the core
 * rendering (`[voice message]`, `[image] caption`…) followed by the transcript, the extracted text,
 * the note and, when the media could not be read, why — so the model can answer accordingly
 * instead of pretending it saw the file. Images themselves go to the model as image parts
 * ({@link imageUrlOf}).
 */
export function describeEnriched(m: InboundMessage): string {
  const base = describeContent(m.content);
  const e = m.enrichment;
  if (!e) return base;
  const lines = [base];
  if (e.note) lines.push(`(${e.note})`);
  if (e.transcript !== undefined) {
    const label = m.content.type === 'audio' && m.content.voice ? 'Transcript of the voice message' : 'Transcript of the sound';
    lines.push(`${label}: ${e.transcript || '(no speech recognised)'}`);
  }
  if (e.text !== undefined) lines.push(`Text of the document:\n"""\n${e.text}\n"""`);
  if (e.error) lines.push(`[The assistant could not read this attachment: ${e.error}. Tell the customer and ask them to describe it or send it another way.]`);
  return lines.join('\n');
}

/** The image (data: URL) to hand to the vision model for this message, if any. */
export function imageUrlOf(m: InboundMessage): string | undefined {
  return m.enrichment?.imageDataUrl;
}
