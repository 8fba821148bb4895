import { ChannelId, InboundEvent } from '@switchboard/core';
import { fixtureJson } from '@switchboard/testkit';
import { normalizeChatwootWebhook, relayedChatwootMessage, webhookConversation } from './chatwoot.parse.js';
import { decodeMirrorContactSourceId, mirrorChannelTag, mirrorContactIdentifier, mirrorContactSourceId } from './chatwoot.mirror-store.js';

const RECEIVED = 1_778_494_300_000;
const BOT = { botId: 4, accountId: 7 };
const MIRROR = { botId: 4, accountId: 7, mirrorInboxId: 23 };
const load = (name: string) => fixtureJson<Record<string, unknown>>('chatwoot', name);

function normalize(payload: unknown, opts = BOT, ctx: Partial<Parameters<typeof normalizeChatwootWebhook>[2]> = {}) {
  const events = normalizeChatwootWebhook(payload, opts, { receivedAt: RECEIVED, ...ctx });
  // every event is a valid InboundEvent (the worker validates the same schema)
  for (const e of events) expect(InboundEvent.safeParse(e).success).toBe(true);
  return events;
}

describe('normalizeChatwootWebhook', () => {
  it('turns an incoming customer message with an image into one image event with the text as caption', () => {
    const [event, ...rest] = normalize(load('message_created.incoming_contact_with_image.json'));
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({
      kind: 'message',
      eventId: 'cw-7-551207-message_created',
      providerMessageId: '551207',
      author: 'customer',
      conversation: { channel: 'chatwoot', account: '7', userId: '4411', threadId: '318', displayName: 'Jonas Becker' },
      sentAt: Date.parse('2026-05-11T10:10:10.402Z'),
      content: { type: 'image', media: { mimeType: 'image/jpeg', caption: 'Hi, my order #4821 arrived damaged - see photo', sizeBytes: 184233 } },
    });
    expect(event?.kind === 'message' && event.content.type === 'image' && event.content.media.url).toMatch(/^https:\/\/support\.northwind\.example\/rails\/active_storage\/blobs\/redirect\//);
  });

  it('gives the same message the same event id on every delivery (dedupe by message id)', () => {
    const a = normalize(load('message_created.incoming_contact_with_image.json'));
    const b = normalize(load('message_created.incoming_contact_with_image.json'), BOT, { receivedAt: RECEIVED + 5000 });
    expect(a[0]?.eventId).toBe(b[0]?.eventId);
  });

  it('plain text becomes a text event', () => {
    const p: Record<string, unknown> = { ...load('message_created.incoming_contact_with_image.json'), content: 'Where is my parcel?' };
    delete p['attachments'];
    expect(normalize(p)[0]).toMatchObject({ kind: 'message', content: { type: 'text', text: 'Where is my parcel?' } });
  });

  it('the bot echo is acknowledged as unsupported, not as a message', () => {
    expect(normalize(load('message_created.outgoing_agent_bot_IGNORE.json'))).toEqual([
      { kind: 'unsupported', eventId: 'cw-7-551209-message_created', channel: 'chatwoot', providerType: 'message_created', reason: 'bot echo' },
    ]);
  });

  it("a human's public reply in a bot inbox becomes a human_took_over signal and, for the record only, the reply itself", () => {
    const events = normalize(load('message_created.outgoing_human_agent_api_inbox.json'));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      kind: 'signal',
      signal: 'human_took_over',
      conversation: { channel: 'chatwoot', account: '7', userId: '4411', threadId: '318' },
    });
    expect(events[1]).toMatchObject({
      kind: 'message',
      eventId: 'cw-7-551230-message_created',
      providerMessageId: '551230',
      author: 'human_agent',
      recordOnly: 'human agent replied',
      conversation: { channel: 'chatwoot', account: '7', userId: '4411', threadId: '318' },
      content: { type: 'text' },
    });
  });

  it('a customer message the bot must not answer (open, human assignee) is kept for the record only', () => {
    const base = load('message_created.incoming_contact_with_image.json') as { conversation: Record<string, unknown> };
    const open = normalize({ ...base, conversation: { ...base.conversation, status: 'open' } });
    expect(open.length).toBeGreaterThan(0);
    for (const e of open) expect(e).toMatchObject({ kind: 'message', author: 'customer', recordOnly: 'conversation open' });
    const answerable = normalize(base);
    expect(answerable.map((e) => e.eventId)).toEqual(open.map((e) => e.eventId));
    for (const e of answerable) expect(e).not.toHaveProperty('recordOnly');
  });

  it("a human's public reply in the mirror inbox becomes a human_agent message of the original conversation", () => {
    const original = { channel: 'whatsapp' as const, account: '1234567', userId: '4915112345678', address: '4915112345678' };
    const [event] = normalize(load('message_created.outgoing_human_agent_api_inbox.json'), MIRROR, { mirroredRef: original });
    expect(event).toMatchObject({ kind: 'message', author: 'human_agent', conversation: original, content: { type: 'text' } });
    expect(event?.kind === 'message' && relayedChatwootMessage(event)).toEqual({ conversationId: 318, messageId: 551230 });
  });

  it('a mirror-inbox reply whose conversation is not ours is dropped with a reason', () => {
    expect(normalize(load('message_created.outgoing_human_agent_api_inbox.json'), MIRROR)[0]).toMatchObject({ kind: 'unsupported', reason: 'mirror: conversation not mapped' });
  });

  it('conversation_status_changed to open (changed_attributes null) is a takeover, read from status', () => {
    const [event] = normalize(load('conversation_status_changed.open.json'));
    expect(event).toMatchObject({ kind: 'signal', signal: 'human_took_over', at: 1778494241208, conversation: { threadId: '318', userId: '4411' } });
  });

  it('conversation back to pending resumes the bot', () => {
    const p = { ...load('conversation_status_changed.open.json'), status: 'pending', event: 'conversation_updated', changed_attributes: [{ status: { previous_value: 'open', current_value: 'pending' } }] };
    expect(normalize(p)[0]).toMatchObject({ kind: 'signal', signal: 'bot_resumed' });
  });

  it('conversation_opened and conversation_resolved (deprecated) are understood too', () => {
    expect(normalize({ ...load('conversation_status_changed.open.json'), event: 'conversation_opened' })[0]).toMatchObject({ signal: 'human_took_over' });
    expect(normalize({ ...load('conversation_status_changed.open.json'), event: 'conversation_resolved', status: 'resolved' })[0]).toMatchObject({ signal: 'bot_resumed' });
  });

  it('a rich-message answer becomes an interactive submitted_values message', () => {
    const p = {
      ...load('message_created.outgoing_agent_bot_IGNORE.json'),
      event: 'message_updated',
      content_type: 'input_select',
      content_attributes: { items: [{ title: 'Refund my order', value: 'refund' }], submitted_values: [{ title: 'Refund my order', value: 'refund' }] },
    };
    const [event] = normalize(p);
    expect(event).toMatchObject({
      kind: 'message',
      author: 'customer',
      conversation: { threadId: '318', userId: '4411' },
      content: { type: 'interactive', interaction: 'submitted_values', id: 'refund', title: 'Refund my order' },
    });
  });

  it('a form answer lists every field', () => {
    const p = {
      ...load('message_created.outgoing_agent_bot_IGNORE.json'),
      event: 'message_updated',
      content_type: 'form',
      content_attributes: { submitted_values: [{ name: 'email', title: 'Email', value: 'j@example.com' }, { name: 'order', title: 'Order', value: '4821' }] },
    };
    expect(normalize(p)[0]).toMatchObject({ content: { type: 'interactive', title: 'Email: j@example.com\nOrder: 4821' } });
  });

  it('webwidget_triggered on a pending conversation starts a session', () => {
    const conv = load('conversation_status_changed.open.json');
    const p = { event: 'webwidget_triggered', account: { id: 7 }, inbox: { id: 2 }, contact: { id: 4411 }, current_conversation: { ...conv, status: 'pending' }, source_id: 'abc', event_info: { initiated_at: { timestamp: 'x' } } };
    expect(normalize(p)[0]).toMatchObject({ kind: 'signal', signal: 'session_started', conversation: { threadId: '318' } });
  });

  it('unknown events and malformed payloads are acknowledged as unsupported, never thrown', () => {
    expect(normalize({ event: 'conversation_typing_on', user: {} })[0]).toMatchObject({ kind: 'unsupported', providerType: 'conversation_typing_on', reason: 'event not handled' });
    expect(normalize({ event: 'message_created', id: 'x' })[0]).toMatchObject({ kind: 'unsupported', reason: 'malformed message payload' });
    expect(normalize([1, 2])[0]).toMatchObject({ kind: 'unsupported' });
    expect(normalize(null)[0]).toMatchObject({ kind: 'unsupported' });
  });

  it('webhookConversation tells where a payload belongs', () => {
    expect(webhookConversation(load('message_created.outgoing_human_agent_api_inbox.json'))).toEqual({ accountId: 7, inboxId: 23, conversationId: 318, contactInboxSourceId: 'wa:4915112345678' });
    expect(webhookConversation({ event: 'foo' })).toBeUndefined();
  });
});

describe('mirror contact source ids', () => {
  it('round-trip a conversation ref, ids with separators included', () => {
    const ref = { channel: 'wechat-kf' as const, account: 'wkAbc:1', userId: 'wm/xyz' };
    expect(decodeMirrorContactSourceId(mirrorContactSourceId(ref))).toEqual(ref);
  });
  it('keep the tags already stored in Chatwoot, and tag any other channel by its id', () => {
    expect(mirrorContactIdentifier({ channel: 'whatsapp', account: '1', userId: '49151' })).toBe('wa:49151');
    expect(mirrorContactSourceId({ channel: 'wechat-kf', account: 'wk1', userId: 'wm1' })).toBe('sb:wechat:wk1:wm1');
    expect(mirrorContactSourceId({ channel: 'telegram', account: '7000', userId: '42' })).toBe('sb:tg:7000:42');
    expect(mirrorContactIdentifier({ channel: 'chatwoot', account: '7', userId: '5' })).toBe('cw:5');
    const tags = ChannelId.options.map(mirrorChannelTag);
    expect(new Set(tags).size).toBe(tags.length);
  });
  it('round-trip every mirrored channel (a new channel id needs no mirror entry); Chatwoot itself is never decoded', () => {
    for (const channel of ChannelId.options) {
      const ref = { channel, account: 'acc:1', userId: 'user/2', accountId: 'shop-2' };
      expect(decodeMirrorContactSourceId(mirrorContactSourceId(ref))).toEqual(channel === 'chatwoot' ? undefined : ref);
    }
  });
  it('ignore foreign source ids', () => {
    expect(decodeMirrorContactSourceId('wa:4915112345678')).toBeUndefined();
    expect(decodeMirrorContactSourceId(undefined)).toBeUndefined();
  });
});
