import { MIRROR_SOURCE_PREFIX } from './chatwoot.mirror-store.js';
import { assigneeKind, type WireConversation, type WireMessageEvent } from './chatwoot.wire.js';
import { isTemplateCommand } from './chatwoot.template-command.js';

/** Inbox roles the gateway needs to tell apart. */
export interface ChatwootGateOptions {
  /** Our agent bot's id; another bot assigned to a conversation keeps ours quiet. */
  readonly botId?: number;
  /** The API inbox that mirrors WhatsApp/WeChat conversations. */
  readonly mirrorInboxId?: number;
}

/**
 * What to do with one message webhook.
 * - `answer`: a customer message the agent bot must answer (Chatwoot-native conversation).
 * - `submitted`: a customer's answer to an input_select/form/cards message (`message_updated`), answered like `answer`.
 * - `relay`: a human agent's public reply in the mirror inbox, to deliver on WhatsApp/WeChat.
 * - `takeover`: a human agent replied in a bot conversation; Chatwoot does not change the status (#4410), so we treat it as a handoff
 *   (the reply itself is kept in the record).
 * - `record`: a customer message (or submitted answer) the bot must not answer (the reason: a person or
 *   another bot owns the conversation, it is not pending…): kept in the record, never answered.
 * - `ignore`: everything else, with the reason (logged and counted).
 */
export type MessageDecision =
  | { readonly action: 'answer' | 'submitted' | 'relay' | 'takeover' }
  | { readonly action: 'record' | 'ignore'; readonly reason: string };

/** The inbox a webhook belongs to. */
export function inboxOf(msg: Pick<WireMessageEvent, 'inbox' | 'conversation'>): number | undefined {
  return msg.inbox?.id ?? msg.conversation.inbox_id ?? undefined;
}

/** True for a conversation of the mirror inbox. */
export function isMirrorInbox(inboxId: number | null | undefined, opts: ChatwootGateOptions): boolean {
  return opts.mirrorInboxId !== undefined && inboxId === opts.mirrorInboxId;
}

/**
 * Whether the bot may speak in a conversation: `pending`, no human assignee, and not assigned to
 * another bot (provider doc §6). Used on webhooks and again right before posting (`maySend`).
 */
export function botMayAnswer(conv: Pick<WireConversation, 'status' | 'meta'> & { assignee_type?: string | null }, opts: ChatwootGateOptions): { ok: true } | { ok: false; reason: string } {
  if (conv.status !== 'pending') return { ok: false, reason: `conversation ${conv.status}` };
  const kind = assigneeKind(conv.meta, conv.assignee_type);
  if (kind === 'User') return { ok: false, reason: 'human assignee' };
  if (kind === 'AgentBot' && opts.botId !== undefined && conv.meta?.assignee?.id !== undefined && conv.meta.assignee.id !== opts.botId) {
    return { ok: false, reason: 'another bot assigned' };
  }
  return { ok: true };
}

function hasSubmittedValues(attrs: Record<string, unknown> | null | undefined): boolean {
  const v = attrs?.['submitted_values'];
  if (Array.isArray(v)) return v.length > 0;
  return v !== null && typeof v === 'object' && Object.keys(v).length > 0;
}

/**
 * The loop and double-answer gate (provider doc §6, rules 2, 4 and 7). Agent bots receive every event
 * of every conversation, their own replies included, and Chatwoot never stops the stream after a
 * handoff, so only a public incoming customer message of a pending, bot-owned conversation is answered;
 * the other public customer messages are only recorded.
 */
export function decideMessage(msg: WireMessageEvent, opts: ChatwootGateOptions): MessageDecision {
  // a private note is never delivered, except the template command of the mirror inbox (chatwoot.template-command.ts)
  if (msg.private === true && !(isMirrorInbox(inboxOf(msg), opts) && isTemplateCommand(msg.content ?? ''))) return { action: 'ignore', reason: 'private note' };
  if (msg.content_attributes?.['deleted'] === true) return { action: 'ignore', reason: 'deleted message' };
  const senderType = msg.sender?.type ?? undefined;

  if (isMirrorInbox(inboxOf(msg), opts)) {
    // Chatwoot delivers nothing for API inboxes: a human's public reply here is ours to deliver.
    if (msg.event !== 'message_created') return { action: 'ignore', reason: 'mirror: message update' };
    if (msg.message_type !== 'outgoing') return { action: 'ignore', reason: `mirror: ${msg.message_type} message` };
    if (msg.source_id?.startsWith(MIRROR_SOURCE_PREFIX)) return { action: 'ignore', reason: 'mirror: own echo' };
    if (senderType !== 'user') return { action: 'ignore', reason: `mirror: sender ${senderType ?? 'none'}` };
    return { action: 'relay' };
  }

  if (msg.event === 'message_updated') {
    if (!hasSubmittedValues(msg.content_attributes)) return { action: 'ignore', reason: 'message update without submitted values' };
    const gate = botMayAnswer(msg.conversation, opts);
    return gate.ok ? { action: 'submitted' } : { action: 'record', reason: gate.reason };
  }
  switch (msg.message_type) {
    case 'incoming': {
      // what the customer said is recorded whoever owns the conversation; only the answer is gated
      const gate = botMayAnswer(msg.conversation, opts);
      return gate.ok ? { action: 'answer' } : { action: 'record', reason: gate.reason };
    }
    case 'outgoing':
      if (senderType === 'user') return { action: 'takeover' };
      return { action: 'ignore', reason: senderType === 'agent_bot' ? 'bot echo' : `outgoing from ${senderType ?? 'system'}` };
    case 'template':
      return { action: 'ignore', reason: 'template message' };
    case 'activity':
      return { action: 'ignore', reason: 'activity message' };
    default:
      return { action: 'ignore', reason: `message_type ${msg.message_type}` };
  }
}

/** Ownership a conversation event implies: a human took over, the bot may answer again, or no change. */
export function conversationOwnership(
  conv: WireConversation & { changed_attributes?: Array<Record<string, unknown>> | null },
  mirror: boolean,
  opts: ChatwootGateOptions,
): 'human_took_over' | 'bot_resumed' | undefined {
  const kind = assigneeKind(conv.meta);
  if (mirror) {
    // A mirror inbox without a bot opens conversations by default, so "open" alone is not a takeover;
    // a human assignee is. Resolved or back to pending hands the customer back to the bot.
    // A resolved conversation reopened by the customer's next (mirrored) message keeps its old
    // assignee: that is not a takeover; the agent takes over again by replying or re-assigning.
    if (conv.status === 'open' && kind === 'User') return previousStatus(conv.changed_attributes) === 'resolved' ? undefined : 'human_took_over';
    if (conv.status === 'pending' || conv.status === 'resolved') return 'bot_resumed';
    return undefined;
  }
  if (conv.status === 'resolved') return 'bot_resumed';
  return botMayAnswer(conv, opts).ok ? 'bot_resumed' : 'human_took_over';
}

/** `changed_attributes[].status.previous_value`, when Chatwoot sent it (it is null on some status events). */
function previousStatus(changed: Array<Record<string, unknown>> | null | undefined): string | undefined {
  for (const entry of changed ?? []) {
    const status = entry['status'];
    if (status && typeof status === 'object' && 'previous_value' in status) {
      const prev = (status as { previous_value?: unknown }).previous_value;
      if (typeof prev === 'string') return prev;
    }
  }
  return undefined;
}
