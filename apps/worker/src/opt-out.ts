import { conversationId, jobId, type ConversationRef, type ConversationSignal, type InboundMessage, type RecordEntry } from '@switchboard/core';
import { enqueueReply, OptOutStore, optOutRefOf } from '@switchboard/queue';
import { agentFor } from './channels.js';
import type { WorkerDeps } from './deps.js';
import { conversationEventEntry, record } from './recording.js';
import { enqueueMirror } from './mirror-jobs.js';

/** A private note in the mirror conversation, with the `opted-out` label and attribute set or cleared. */
async function mirrorOptOut(deps: WorkerDeps, ref: ConversationRef, optedOut: boolean, sourceId: string, how: string): Promise<void> {
  const text = optedOut ? `The customer opted out of business-initiated messages (${how}).` : `The customer opted back in to business-initiated messages (${how}).`;
  await enqueueMirror(deps, ref, 'note', sourceId, text, { optedOut });
}

/** The opt-out store of the worker's Redis (stateless: one per call is fine). */
export function optOutStore(deps: Pick<WorkerDeps, 'redis' | 'prefix'>): OptOutStore {
  return new OptOutStore(deps.redis, deps.prefix);
}

/**
 * Handles opt-out and opt-in keywords of a turn's customer messages before the agent runs: a
 * message that is exactly a keyword (AGENT_CONFIG `optOut`) opts the customer out or in, gets its
 * confirmation once (a repeated STOP gets nothing) and is taken out of the turn; the bot answers the
 * rest as usual. Works on every channel: keywords are plain text. Returns the messages left for the
 * agent and adds `opted_out`/`opted_in` events to `facts`.
 */
export async function handleOptOutKeywords(deps: WorkerDeps, messages: InboundMessage[], facts: RecordEntry[]): Promise<{ rest: InboundMessage[]; outcome?: string }> {
  const rest: InboundMessage[] = [];
  let outcome: string | undefined;
  for (const m of messages) {
    const text = m.content.type === 'text' ? m.content.text : undefined;
    const agent = text !== undefined ? agentFor(deps, m.conversation) : undefined;
    const intent = text !== undefined && agent ? agent.optOutIntent(text) : undefined;
    if (!intent || !agent || text === undefined) {
      rest.push(m);
      continue;
    }
    const ref = m.conversation;
    const store = optOutStore(deps);
    // this message's own earlier run (a retried turn) counts as "changed": its confirmation is enqueued again under the same id
    const changed = intent === 'opt_out' ? await keywordOptOut(store, m) : await keywordOptIn(deps, store, m);
    outcome = intent === 'opt_out' ? (changed ? 'opted_out' : 'already_opted_out') : changed ? 'opted_in' : 'not_opted_out';
    deps.log.info('opt-out keyword', { channel: ref.channel, conversation: conversationId(ref), intent, changed });
    if (!changed) continue;
    facts.push(conversationEventEntry(`${intent}-${m.eventId}`, ref, intent === 'opt_out' ? 'opted_out' : 'opted_in', { source: 'keyword' }, m.sentAt));
    await mirrorOptOut(deps, ref, intent === 'opt_out', `${intent}-${m.eventId}`, `keyword "${text.trim().slice(0, 40)}"`);
    await enqueueReply(deps, ref, { outboundId: jobId(intent === 'opt_out' ? 'optout' : 'optin', conversationId(ref), m.eventId), reply: agent.optOutConfirmation(intent, text), origin: 'notice' });
  }
  return { rest, ...(outcome ? { outcome } : {}) };
}

async function keywordOptOut(store: OptOutStore, m: InboundMessage): Promise<boolean> {
  const r = await store.optOut(optOutRefOf(m.conversation), 'keyword', { eventId: m.eventId, at: m.sentAt });
  return r.changed || r.record.eventId === m.eventId;
}

/** Opts in; true when this message did it (also on a retried turn: a marker is claimed before the flag goes). */
async function keywordOptIn(deps: WorkerDeps, store: OptOutStore, m: InboundMessage): Promise<boolean> {
  const ref = optOutRefOf(m.conversation);
  const marker = `optin-${m.eventId}`;
  if (await store.isOptedOut(ref)) {
    await deps.mailbox.claim(marker, 7 * 24 * 3600);
    await store.optIn(ref);
    return true;
  }
  return (await deps.redis.exists(deps.keys.seen(marker))) > 0;
}

/** A provider's opt-out or opt-in (WhatsApp `user_preferences`): the store and the record; no message is sent (the customer used the app's own setting). */
export async function applyOptOutSignal(deps: WorkerDeps, event: ConversationSignal & { signal: 'opted_out' | 'opted_in' }): Promise<void> {
  const ref: ConversationRef = event.conversation;
  const store = optOutStore(deps);
  if (event.signal === 'opted_out') await store.optOut(optOutRefOf(ref), 'provider', { eventId: event.eventId, at: event.at });
  else await store.optIn(optOutRefOf(ref));
  await mirrorOptOut(deps, ref, event.signal === 'opted_out', event.eventId, 'in the app');
  await record(deps, conversationEventEntry(event.eventId, ref, event.signal, { source: 'provider', ...event.detail }, event.at));
}
