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

/** One message as text, marking forwarded messages and messages written by the support team. */
export function renderMessage(message: InboundMessage): string {
  const body = renderContent(message.content);
  const forwarded = message.forwarded ? '[forwarded] ' : '';
  const author = message.author === 'human_agent' ? '[support agent] ' : message.author === 'business' ? '[business] ' : '';
  return `${author}${forwarded}${body}`;
}

/** The customer's side of a turn as one text (messages in order, one per line). */
export function renderTurn(messages: InboundMessage[]): string {
  return messages.map(renderMessage).join('\n');
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
    else if (m.content.type === 'interactive') parts.push(m.content.title);
    else textOnly = false;
  }
  return { text: parts.join('\n').trim(), textOnly };
}
