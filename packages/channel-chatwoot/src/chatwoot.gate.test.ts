import { fixtureJson } from '@switchboard/testkit';
import { conversationOwnership, decideMessage } from './chatwoot.gate.js';
import { WireConversationEvent, WireMessageEvent, type WireMessageEvent as Msg } from './chatwoot.wire.js';

const incoming = () => WireMessageEvent.parse(fixtureJson('chatwoot', 'message_created.incoming_contact_with_image.json'));
const botEcho = () => WireMessageEvent.parse(fixtureJson('chatwoot', 'message_created.outgoing_agent_bot_IGNORE.json'));
const human = () => WireMessageEvent.parse(fixtureJson('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json'));

/** Bot path: the fixtures' inbox 23 is a bot inbox unless it is configured as the mirror inbox. */
const BOT = { botId: 4 };
const MIRROR = { botId: 4, mirrorInboxId: 23 };

function variant(base: Msg, patch: Partial<Msg>, conv: Partial<Msg['conversation']> = {}): Msg {
  return { ...base, ...patch, conversation: { ...base.conversation, ...conv } };
}

describe('bot gate over every fixture (agent-bot inbox)', () => {
  it('answers an incoming public customer message in a pending, unassigned conversation', () => {
    expect(decideMessage(incoming(), BOT)).toEqual({ action: 'answer' });
  });
  it("drops the bot's own echo", () => {
    expect(decideMessage(botEcho(), BOT)).toEqual({ action: 'ignore', reason: 'bot echo' });
  });
  it("treats a human agent's public reply as a takeover, never as something to answer", () => {
    expect(decideMessage(human(), BOT)).toEqual({ action: 'takeover' });
  });
  it('drops private notes (even from the customer side)', () => {
    expect(decideMessage(variant(incoming(), { private: true }), BOT)).toEqual({ action: 'ignore', reason: 'private note' });
    expect(decideMessage(variant(human(), { private: true }), BOT)).toEqual({ action: 'ignore', reason: 'private note' });
  });
  it('drops template and activity messages', () => {
    expect(decideMessage(variant(incoming(), { message_type: 'template', sender: null }), BOT)).toEqual({ action: 'ignore', reason: 'template message' });
    expect(decideMessage(variant(incoming(), { message_type: 'activity', sender: null }), BOT)).toEqual({ action: 'ignore', reason: 'activity message' });
  });
  it('stays silent when the conversation is open, resolved or snoozed', () => {
    for (const status of ['open', 'resolved', 'snoozed']) {
      expect(decideMessage(variant(incoming(), {}, { status }), BOT)).toEqual({ action: 'record', reason: `conversation ${status}` });
    }
  });
  it('stays silent when a human is assigned, even while pending', () => {
    const msg = variant(incoming(), {}, { meta: { ...incoming().conversation.meta, assignee: { id: 17, type: 'user' }, assignee_type: 'User' } });
    expect(decideMessage(msg, BOT)).toEqual({ action: 'record', reason: 'human assignee' });
  });
  it('infers a human assignee on installs without assignee_type', () => {
    const msg = variant(incoming(), {}, { meta: { assignee: { id: 17, type: 'user' } } });
    expect(decideMessage(msg, BOT)).toEqual({ action: 'record', reason: 'human assignee' });
  });
  it('answers when our own bot is the assignee, not when another bot is', () => {
    const ours = variant(incoming(), {}, { meta: { assignee: { id: 4, type: 'agent_bot' }, assignee_type: 'AgentBot' } });
    const other = variant(incoming(), {}, { meta: { assignee: { id: 9, type: 'agent_bot' }, assignee_type: 'AgentBot' } });
    expect(decideMessage(ours, BOT)).toEqual({ action: 'answer' });
    expect(decideMessage(other, BOT)).toEqual({ action: 'record', reason: 'another bot assigned' });
  });
  it('answers a rich-message answer (message_updated with submitted_values) but not other updates', () => {
    const answered = variant(botEcho(), { event: 'message_updated', content_type: 'input_select', content_attributes: { submitted_values: [{ title: 'Refund', value: 'refund' }] } });
    expect(decideMessage(answered, BOT)).toEqual({ action: 'submitted' });
    expect(decideMessage(variant(botEcho(), { event: 'message_updated' }), BOT)).toEqual({ action: 'ignore', reason: 'message update without submitted values' });
    expect(decideMessage(variant(answered, {}, { status: 'open' }), BOT)).toEqual({ action: 'record', reason: 'conversation open' });
  });
  it('drops deleted messages', () => {
    expect(decideMessage(variant(incoming(), { content_attributes: { deleted: true } }), BOT)).toEqual({ action: 'ignore', reason: 'deleted message' });
  });
});

describe('mirror inbox rules', () => {
  it("relays a human agent's public reply", () => {
    expect(decideMessage(human(), MIRROR)).toEqual({ action: 'relay' });
  });
  it('never relays private notes', () => {
    expect(decideMessage(variant(human(), { private: true }), MIRROR)).toEqual({ action: 'ignore', reason: 'private note' });
  });
  it('never answers or relays incoming messages (our own mirrored customer messages)', () => {
    expect(decideMessage(incoming(), MIRROR)).toEqual({ action: 'ignore', reason: 'mirror: incoming message' });
  });
  it('drops bot replies and messages carrying our source_id marker', () => {
    expect(decideMessage(botEcho(), MIRROR)).toEqual({ action: 'ignore', reason: 'mirror: sender agent_bot' });
    expect(decideMessage(variant(human(), { source_id: 'sb:outgoing:out-1' }), MIRROR)).toEqual({ action: 'ignore', reason: 'mirror: own echo' });
  });
  it('does not relay templates (greeting, CSAT) or updates', () => {
    expect(decideMessage(variant(human(), { message_type: 'template', sender: null }), MIRROR)).toEqual({ action: 'ignore', reason: 'mirror: template message' });
    expect(decideMessage(variant(human(), { event: 'message_updated' }), MIRROR)).toEqual({ action: 'ignore', reason: 'mirror: message update' });
  });
});

describe('conversation ownership', () => {
  const open = () => WireConversationEvent.parse(fixtureJson('chatwoot', 'conversation_status_changed.open.json'));
  it('a bot conversation that became open is human-owned', () => {
    expect(conversationOwnership(open(), false, BOT)).toBe('human_took_over');
  });
  it('pending again or resolved hands it back to the bot', () => {
    expect(conversationOwnership({ ...open(), status: 'pending' }, false, BOT)).toBe('bot_resumed');
    expect(conversationOwnership({ ...open(), status: 'resolved' }, false, BOT)).toBe('bot_resumed');
  });
  it('in the mirror inbox only a human assignee on an open conversation is a takeover', () => {
    expect(conversationOwnership(open(), true, MIRROR)).toBeUndefined();
    const assigned = { ...open(), meta: { ...open().meta, assignee: { id: 17, type: 'user' }, assignee_type: 'User' } };
    expect(conversationOwnership(assigned, true, MIRROR)).toBe('human_took_over');
    expect(conversationOwnership({ ...open(), status: 'resolved' }, true, MIRROR)).toBe('bot_resumed');
  });
  it('a resolved mirror conversation reopened by the customer is not a takeover, even with the old assignee', () => {
    const reopened = {
      ...open(),
      meta: { assignee: { id: 17, type: 'user' }, assignee_type: 'User' },
      changed_attributes: [{ status: { previous_value: 'resolved', current_value: 'open' } }],
    };
    expect(conversationOwnership(reopened, true, MIRROR)).toBeUndefined();
  });
});
