import type { InboundMessage, MessageContent } from '@switchboard/core';

/**
 * Renders normalised messages as the short text the model and the memory see. Media become
 * bracketed descriptions ("[voice message]", "[image: caption]") until the media pipeline
 * supplies transcripts and descriptions.
 */

function withCaption(label: string, caption: string | undefined): string {
  const c = caption?.trim();
  return c ? `[${label}: ${c}]` : `[${label}]`;
}

const FORM_MAX_FIELDS = 40;
const FORM_MAX_VALUE = 500;

function formValue(v: unknown): string {
  let out: string;
  if (typeof v === 'string') out = v;
  else if (typeof v === 'number' || typeof v === 'boolean') out = String(v);
  else if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) out = v.join(', ');
  else {
    try {
      out = JSON.stringify(v) ?? '';
    } catch {
      out = '';
    }
  }
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > FORM_MAX_VALUE ? `${out.slice(0, FORM_MAX_VALUE)}…` : out;
}

/**
 * A submitted WhatsApp Flow (`nfm_reply.response_json`) as `key: value` lines. `flow_token` is the
 * business's own correlation id, never shown; a reply that is not a JSON object is shown as text.
 */
export function renderFormReply(title: string, response: unknown): string {
  const head = `[submitted a form${title && title !== 'Sent' ? `: ${title}` : ''}]`;
  if (response && typeof response === 'object' && !Array.isArray(response)) {
    const lines = Object.entries(response as Record<string, unknown>)
      .filter(([k, v]) => k !== 'flow_token' && v !== null && v !== undefined && v !== '')
      .slice(0, FORM_MAX_FIELDS)
      .map(([k, v]) => `${k.slice(0, 100)}: ${formValue(v)}`);
    return lines.length ? [head, ...lines].join('\n') : head;
  }
  if (typeof response === 'string' && response.trim()) return `${head}\n${formValue(response)}`;
  return head;
}

/** Ad or post context of a Click-to-WhatsApp conversation, as one line for the agent. */
export function renderReferral(r: NonNullable<InboundMessage['referral']>): string {
  const what = r.sourceType === 'post' ? 'a post' : 'an ad';
  const parts = [r.headline, r.body].filter((p): p is string => Boolean(p)).map((p) => `"${p.replace(/\s+/g, ' ').slice(0, 300)}"`);
  const media = r.mediaType ? ` (${r.mediaType})` : '';
  const url = r.sourceUrl ? ` ${r.sourceUrl}` : '';
  return `[The customer came from ${what}${media}${parts.length ? `: ${parts.join(' — ')}` : ''}${url}]`;
}

/** One message content as text. */
export function renderContent(content: MessageContent): string {
  switch (content.type) {
    case 'text':
      return content.text;
    case 'image':
      return withCaption('image', content.media.caption);
    case 'audio':
      return content.voice ? '[voice message]' : withCaption('audio file', content.media.filename);
    case 'video':
      return withCaption('video', content.media.caption);
    case 'document': {
      const name = content.media.filename ? `document "${content.media.filename}"` : 'document';
      return withCaption(name, content.media.caption);
    }
    case 'sticker':
      return '[sticker]';
    case 'location': {
      const place = [content.name, content.address].filter(Boolean).join(', ');
      const coords = `${content.latitude.toFixed(5)}, ${content.longitude.toFixed(5)}`;
      return `[location: ${place ? `${place} ` : ''}(${coords})]`;
    }
    case 'contacts':
      return `[shared contact${content.contacts.length > 1 ? 's' : ''}: ${content.contacts
        .map((c) => (c.phones.length ? `${c.name} (${c.phones.join(', ')})` : c.name))
        .join('; ')}]`;
    case 'interactive':
      if (content.interaction === 'nfm_reply') return renderFormReply(content.title, content.response);
      return `[selected: ${content.title}${content.description ? ` — ${content.description}` : ''}]`;
    case 'reaction':
      return content.emoji ? `[reacted ${content.emoji} to a message]` : '[removed a reaction]';
    case 'order': {
      const items = content.items.map((i) => `${i.quantity} × ${i.productId}${i.price !== undefined ? ` at ${i.price}${i.currency ? ` ${i.currency}` : ''}` : ''}`);
      return `[order: ${items.join(', ')}]${content.text ? ` ${content.text}` : ''}`;
    }
    case 'link':
      return `[link: ${[content.title, content.url].filter(Boolean).join(' — ')}]${content.description ? ` ${content.description}` : ''}`;
    case 'card':
      return `[${content.cardType}: ${content.summary}]`;
    case 'merged': {
      const lines = content.items.map((i) => `${i.sender ? `${i.sender}: ` : ''}${i.text}`);
      return [`[forwarded chat${content.title ? `: ${content.title}` : ''}]`, ...lines].join('\n');
    }
    case 'system':
      return `[system: ${content.text}]`;
    case 'unsupported':
      return `[unsupported message: ${content.providerType}]`;
  }
}

/** What the media pipeline read from a message's media (transcript, document text, a note or why it failed). */
export function renderEnrichment(message: InboundMessage): string[] {
  const e = message.enrichment;
  if (!e) return [];
  if (message.content.type === 'text' || message.content.type === 'link') {
    // a page the customer sent (typed URL or link message), read by the worker's link reader
    if (e.text !== undefined) return [`The page the customer sent (${e.note ?? 'link'}):\n"""\n${e.text}\n"""`];
    if (e.error) return [`[The link the customer sent could not be opened: ${e.error}. Tell the customer you could not open it and ask what they need from it.]`];
    return [];
  }
  const lines: string[] = [];
  if (e.note) lines.push(`(${e.note})`);
  if (e.transcript !== undefined) {
    const label = message.content.type === 'audio' && message.content.voice ? 'Transcript of the voice message' : 'Transcript of the sound';
    lines.push(`${label}: ${e.transcript || '(no speech recognised)'}`);
  }
  if (e.text !== undefined) lines.push(`Text of the document:\n"""\n${e.text}\n"""`);
  if (e.imageDataUrl) lines.push('(the image is attached)');
  if (e.error) lines.push(`[The assistant could not read this attachment: ${e.error}. Tell the customer and ask them to describe it or send it another way.]`);
  return lines;
}

/** One message as text, marking forwarded messages and messages written by the support team. */
export function renderMessage(message: InboundMessage): string {
  const body = [renderContent(message.content), ...renderEnrichment(message)].join('\n');
  const forwarded = message.forwarded ? '[forwarded] ' : '';
  const edited = message.editOf ? '[edited an earlier message] ' : '';
  const author = message.author === 'human_agent' ? '[support agent] ' : message.author === 'business' ? '[business] ' : '';
  const referral = message.referral ? `${renderReferral(message.referral)}\n` : '';
  return `${referral}${author}${forwarded}${edited}${body}`;
}

/** The customer's side of a turn as one text (messages in order, one per line). */
export function renderTurn(messages: InboundMessage[]): string {
  return messages.map(renderMessage).join('\n');
}

/** Images of a turn (data: URLs from the media pipeline) for a vision-capable model. */
export function turnImages(messages: InboundMessage[]): string[] {
  return messages.flatMap((m) => (m.enrichment?.imageDataUrl ? [m.enrichment.imageDataUrl] : []));
}

/** True when the turn holds nothing to answer (only reactions or system notices). */
export function isSilentTurn(messages: InboundMessage[]): boolean {
  return messages.length === 0 || messages.every((m) => m.content.type === 'reaction' || m.content.type === 'system');
}

/** The plain text the customer typed in this turn (text, captions, interactive titles), for FAQ/cache matching. */
export function typedText(messages: InboundMessage[]): { text: string; textOnly: boolean } {
  const parts: string[] = [];
  let textOnly = true;
  for (const m of messages) {
    if (m.author !== 'customer') {
      textOnly = false;
      continue;
    }
    if (m.content.type === 'text') parts.push(m.content.text);
    // a form reply's title is a constant ("Sent"): its fields are not typed text, and must never hit the FAQ or the cache
    else if (m.content.type === 'interactive' && m.content.interaction !== 'nfm_reply') parts.push(m.content.title);
    else textOnly = false;
  }
  return { text: parts.join('\n').trim(), textOnly };
}
