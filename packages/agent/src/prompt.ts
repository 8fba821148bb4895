import type { ConversationRef } from '@switchboard/core';
import { DEFAULT_CHANNEL_STYLES } from './config.defaults.js';
import type { AgentConfig } from './config.schema.js';
import { fillTemplate } from './text.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The current date and time in the configured zone, written out for the model. */
export function describeNow(now: number, timeZone: string): string {
  // building an Intl.DateTimeFormat costs ~0.3 ms; one per zone is reused for every turn
  const fmt = formatters.get(timeZone) ?? new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'long',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
  formatters.set(timeZone, fmt);
  return `${fmt.format(new Date(now))} (${timeZone})`;
}

/**
 * The system prompt of a turn: persona, language policy, the channel's style and instructions,
 * the current date/time and the customer's display name.
 */
export function buildSystemPrompt(config: AgentConfig, ref: ConversationRef, now: number, toolHints: string[] = []): string {
  const channel = config.channels[ref.channel];
  const parts = [
    fillTemplate(config.prompt.system, { business: config.businessName }),
    config.prompt.languagePolicy,
    channel.style ?? DEFAULT_CHANNEL_STYLES[ref.channel],
  ];
  if (channel.instructions) parts.push(channel.instructions);
  if (channel.maxReplyChars) parts.push(`Keep every answer under ${channel.maxReplyChars} characters.`);
  parts.push(...toolHints);
  parts.push(`Current date and time: ${describeNow(now, config.timezone)}.`);
  const name = ref.displayName?.trim();
  if (name) parts.push(`The customer's display name on this channel is "${name}" (it may be a nickname; use it sparingly).`);
  return parts.join('\n\n');
}
