import type { InboundMessage, MessageContent } from './model.js';

/**
 * A short, readable rendering of a message for transcripts, Chatwoot mirroring and the agent's
 * memory ("[voice message]", "[image: caption]", a location as text…).
 */
export function describeContent(c: MessageContent): string {
  switch (c.type) {
    case 'text':
      return c.text;
    case 'image':
      return c.media.caption ? `[image] ${c.media.caption}` : '[image]';
    case 'video':
      return c.media.caption ? `[video] ${c.media.caption}` : '[video]';
    case 'audio':
      return c.voice ? '[voice message]' : '[audio file]';
    case 'document':
      return `[document${c.media.filename ? `: ${c.media.filename}` : ''}]${c.media.caption ? ` ${c.media.caption}` : ''}`;
    case 'sticker':
      return '[sticker]';
    case 'location':
      return `[location] ${[c.name, c.address].filter(Boolean).join(', ')} (${c.latitude}, ${c.longitude})`.replace('  ', ' ');
    case 'contacts':
      return `[contact card] ${c.contacts.map((x) => `${x.name}${x.phones.length ? ` ${x.phones.join(', ')}` : ''}`).join('; ')}`;
    case 'interactive':
      return c.title || (c.id ? `[selected ${c.id}]` : '[selection]');
    case 'reaction':
      return c.emoji ? `[reacted ${c.emoji}]` : '[removed a reaction]';
    case 'order':
      return `[order] ${c.items.map((i) => `${i.quantity}× ${i.productId}`).join(', ')}${c.text ? ` — ${c.text}` : ''}`;
    case 'link':
      return `[link] ${[c.title, c.url].filter(Boolean).join(' ')}`;
    case 'card':
      return `[${c.cardType}] ${c.summary}`;
    case 'merged':
      return `[forwarded chat${c.title ? `: ${c.title}` : ''}]\n${c.items.map((i) => `${i.sender ? `${i.sender}: ` : ''}${i.text}`).join('\n')}`;
    case 'system':
      return `[system] ${c.text}`;
    case 'unsupported':
      return `[unsupported message: ${c.providerType}]`;
  }
}

/** The text of a whole message, for transcripts. */
export function describeMessage(m: InboundMessage): string {
  return describeContent(m.content);
}
