import { ReplyOption } from '@switchboard/core';
import { z } from 'zod';
import type { AgentTool } from './tool.types.js';

const HandoffArgs = z.object({ reason: z.string().min(1), summary: z.string().default('') });

/**
 * `handoff_to_human`: ends the turn with a handoff decision. The worker performs the channel's
 * handoff (Chatwoot `open`, WeChat `service_state/trans`, mirrored conversation opened) and the bot
 * goes quiet.
 */
export function handoffToHumanTool(): AgentTool {
  return {
    name: 'handoff_to_human',
    description:
      'Pass the conversation to a human colleague. Use it when the customer asks for a person, is upset, or needs something you cannot do. The conversation then continues with a person.',
    parameters: {
      type: 'object',
      properties: {
        reason: { type: 'string', description: 'Why a person is needed (short).' },
        summary: { type: 'string', description: 'A summary of the conversation so far for the colleague taking over.' },
      },
      required: ['reason', 'summary'],
    },
    async handler(args) {
      const { reason, summary } = HandoffArgs.parse(args);
      return { content: 'Handoff accepted: a colleague will take over this conversation.', handoff: { reason, summary } };
    },
  };
}

const OptionsArgs = z.object({ options: z.array(ReplyOption).min(1).max(10) });

/**
 * `send_options`: attaches choices to the reply (WhatsApp buttons/list, Chatwoot `input_select`,
 * numbered text on WeChat). The model still writes the message text.
 */
export function sendOptionsTool(): AgentTool {
  return {
    name: 'send_options',
    description:
      'Show the customer a few choices to tap (buttons or a list) together with your next message. Call it, then write the message that introduces the choices.',
    parameters: {
      type: 'object',
      properties: {
        options: {
          type: 'array',
          description: '1-10 choices; titles of at most 20 characters show as buttons (3 or fewer), otherwise as a list.',
          items: {
            type: 'object',
            properties: { id: { type: 'string' }, title: { type: 'string' }, description: { type: 'string' } },
            required: ['id', 'title'],
          },
        },
      },
      required: ['options'],
    },
    async handler(args) {
      const parsed = OptionsArgs.safeParse(args);
      if (!parsed.success) throw new Error(`invalid options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return { content: `The ${parsed.data.options.length} options will be shown with your next message. Now write that message.`, options: parsed.data.options };
    },
  };
}

const FactArgs = z.object({ fact: z.string().trim().min(3).max(300) });

/**
 * `save_customer_fact`: keeps a durable fact the customer stated (size, preferences, language)
 * in their profile across conversations. The fact is stored after the turn, by `Agent.remember`.
 */
export function saveCustomerFactTool(): AgentTool {
  return {
    name: 'save_customer_fact',
    description:
      'Remember a lasting fact the customer told you about themselves (e.g. "shoe size 44", "prefers e-mail", "vegetarian") for future conversations. Never store payment data, passwords or health details.',
    parameters: {
      type: 'object',
      properties: { fact: { type: 'string', description: 'One short fact, in the customer’s words or a neutral paraphrase.' } },
      required: ['fact'],
    },
    async handler(args) {
      const parsed = FactArgs.safeParse(args);
      if (!parsed.success) throw new Error('fact must be 3-300 characters');
      return { content: 'Saved.', facts: [parsed.data.fact] };
    },
  };
}
