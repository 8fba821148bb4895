import type { InboundMessage } from '@switchboard/core';
import { typedText } from './render.js';
import { detectLanguage } from './text.js';

/**
 * The language of a turn's typed customer text, detected as the agent's profile records it
 * (`en`, `zh`, …); undefined when the text is too short to tell.
 */
export function turnLanguage(messages: InboundMessage[]): string | undefined {
  const typed = typedText(messages).text;
  return typed.length >= 8 ? detectLanguage(typed) : undefined;
}
