import { InboundEvent } from '@switchboard/core';
import { fixtureBytes, fixtureJson } from '@switchboard/testkit';
import { OTHER_PHONE_NUMBER, parseWebhook } from './whatsapp.parse';

const at = { receivedAt: 1_800_000_000_000 };

function envelope(value: Record<string, unknown>, field = 'messages') {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA', changes: [{ field, value: { messaging_product: 'whatsapp', metadata: { phone_number_id: 'PN1' }, ...value } }] }],
  };
}

function oneMessage(message: Record<string, unknown>, contacts: unknown[] = [{ profile: { name: 'A' }, wa_id: '15550001', user_id: 'US.1' }]) {
  const events = parseWebhook(envelope({ contacts, messages: [{ from: '15550001', from_user_id: 'US.1', id: 'wamid.X', timestamp: '1789000000', ...message }] }), at);
  expect(events).toHaveLength(1);
  const e = events[0]!;
  expect(InboundEvent.safeParse(e).success).toBe(true);
  if (e.kind !== 'message') throw new Error(`expected a message, got ${e.kind}`);
  return e;
}

describe('parseWebhook: fixtures', () => {
  it('01 text: keyed on the business-scoped user id, phone kept as address', () => {
    const [e] = parseWebhook(fixtureJson('whatsapp', '01-text.json'), at);
    expect(e?.kind).toBe('message');
    if (e?.kind !== 'message') return;
    expect(e.content.type).toBe('text');
    expect(e.conversation.userId).toMatch(/\./);
    expect(e.conversation.address).toMatch(/^\d+$/);
    expect(e.eventId).not.toContain(':');
    expect(e.sentAt).toBeGreaterThan(1_700_000_000_000);
  });

  it('02 image with caption, forwarded, url kept', () => {
    const [e] = parseWebhook(fixtureJson('whatsapp', '02-image-with-caption.json'), at);
    if (e?.kind !== 'message' || e.content.type !== 'image') throw new Error('expected image');
    expect(e.content.media.caption).toBeTruthy();
    expect(e.content.media.mediaId).toBeTruthy();
    expect(e.forwarded).toBe(true);
  });

  it('03 voice note has the voice flag and the ogg/opus mime type', () => {
    const [e] = parseWebhook(fixtureJson('whatsapp', '03-voice-audio.json'), at);
    if (e?.kind !== 'message' || e.content.type !== 'audio') throw new Error('expected audio');
    expect(e.content.voice).toBe(true);
    expect(e.content.media.mimeType).toContain('opus');
  });

  it('04 button reply keeps id, title and the context (reply-to) wamid', () => {
    const [e] = parseWebhook(fixtureJson('whatsapp', '04-interactive-button-reply.json'), at);
    if (e?.kind !== 'message' || e.content.type !== 'interactive') throw new Error('expected interactive');
    expect(e.content.interaction).toBe('button_reply');
    expect(e.content.id).toBeTruthy();
    expect(e.replyToProviderMessageId).toMatch(/^wamid\./);
  });

  it('05 batch: two users, matched to contacts by id not index; the username-only user is kept', () => {
    const events = parseWebhook(fixtureJson('whatsapp', '05-batch-two-messages.json'), at);
    expect(events).toHaveLength(2);
    const [a, b] = events;
    if (a?.kind !== 'message' || b?.kind !== 'message') throw new Error('expected messages');
    expect(a.conversation.displayName).toBe('Ana Souza');
    expect(a.conversation.userId).toBe('BR.48120936651237744190');
    expect(b.conversation.userId).toBe('JP.90817263544536271809');
    expect(b.conversation.address).toBeUndefined();
    expect(b.conversation.displayName).toBe('Kenji');
    expect(b.content.type).toBe('location');
  });

  it('06 status delivered carries the correlation echo', () => {
    const [e] = parseWebhook(fixtureJson('whatsapp', '06-status-delivered.json'), at);
    if (e?.kind !== 'status') throw new Error('expected status');
    expect(e.status).toBe('delivered');
    expect(e.correlation).toBeTruthy();
    expect(e.eventId).toContain('delivered');
  });

  it('07 escaped unicode decodes to the real characters', () => {
    const [e] = parseWebhook(JSON.parse(fixtureBytes('whatsapp', '07-wire-format-escaped-unicode.raw.json').toString('utf8')), at);
    if (e?.kind !== 'message' || e.content.type !== 'text') throw new Error('expected text');
    expect(e.content.text).toContain('👋');
    expect(e.content.text).toContain('jose@example.com');
    expect(e.content.text).toContain('https://example.com/p/1');
  });

  it('failed 131047 status carries the error code and no contacts are needed', () => {
    const [e] = parseWebhook(fixtureJson('whatsapp', 'status-failed-131047-async.json'), at);
    if (e?.kind !== 'status') throw new Error('expected status');
    expect(e.status).toBe('failed');
    expect(e.errors[0]?.code).toBe(131047);
  });
});

describe('parseWebhook: every message type', () => {
  it.each([
    ['video', { type: 'video', video: { id: 'm1', mime_type: 'video/mp4', caption: 'look' } }, 'video'],
    ['document', { type: 'document', document: { id: 'm2', filename: 'invoice.pdf', mime_type: 'application/pdf' } }, 'document'],
    ['sticker', { type: 'sticker', sticker: { id: 'm3', mime_type: 'image/webp', animated: true } }, 'sticker'],
    ['contacts', { type: 'contacts', contacts: [{ name: { formatted_name: 'Bo' }, phones: [{ phone: '+1 555', wa_id: '1555' }] }] }, 'contacts'],
    ['list_reply', { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'r1', title: 'Row', description: 'd' } } }, 'interactive'],
    ['nfm_reply', { type: 'interactive', interactive: { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{"a":1}' } } }, 'interactive'],
    ['button', { type: 'button', button: { payload: 'YES', text: 'Yes' } }, 'interactive'],
    ['reaction', { type: 'reaction', reaction: { message_id: 'wamid.T', emoji: '👍' } }, 'reaction'],
    ['order', { type: 'order', order: { catalog_id: 'c', text: 'hi', product_items: [{ product_retailer_id: 'p1', quantity: '2', item_price: 9.5, currency: 'USD' }] } }, 'order'],
    ['system', { type: 'system', system: { body: 'changed number', type: 'user_changed_number', wa_id: '1999' } }, 'system'],
  ])('%s', (_name, body, type) => {
    const e = oneMessage(body);
    expect(e.content.type).toBe(type);
  });

  it('nfm_reply parses response_json', () => {
    const e = oneMessage({ type: 'interactive', interactive: { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{"a":1}' } } });
    if (e.content.type !== 'interactive') throw new Error('expected interactive');
    expect(e.content.response).toEqual({ a: 1 });
  });

  it('a removed reaction has no emoji', () => {
    const e = oneMessage({ type: 'reaction', reaction: { message_id: 'wamid.T', emoji: '' } });
    if (e.content.type !== 'reaction') throw new Error('expected reaction');
    expect(e.content.emoji).toBeUndefined();
  });

  it('a message without from (username only) is keyed on from_user_id, never dropped', () => {
    const events = parseWebhook(envelope({ contacts: [{ profile: { username: '@u' }, user_id: 'DE.77' }], messages: [{ from_user_id: 'DE.77', id: 'wamid.U', type: 'text', text: { body: 'hi' } }] }), at);
    const e = events[0];
    if (e?.kind !== 'message') throw new Error('expected message');
    expect(e.conversation.userId).toBe('DE.77');
    expect(e.conversation.displayName).toBe('@u');
    // the username is kept on its own too (the Chatwoot mirror shows it as the contact's username)
    expect(e.conversation.username).toBe('u');
  });

  it('prefers the parent user id when present', () => {
    const e = oneMessage({ from_parent_user_id: 'US.PARENT', type: 'text', text: { body: 'x' } });
    expect(e.conversation.userId).toBe('US.PARENT');
  });
});

describe('parseWebhook: envelope', () => {
  it('parses every entry × change × message and status in one delivery', () => {
    const value = (pn: string, n: number) => ({
      field: 'messages',
      value: {
        metadata: { phone_number_id: pn },
        contacts: [{ wa_id: `1${n}`, user_id: `US.${n}` }],
        messages: [{ from: `1${n}`, id: `wamid.${pn}.${n}`, type: 'text', text: { body: `m${n}` } }],
        statuses: [{ id: `wamid.out${n}`, status: 'read', timestamp: '1789000000', recipient_id: `1${n}` }],
      },
    });
    const payload = { object: 'whatsapp_business_account', entry: [{ id: 'A', changes: [value('P1', 1), value('P1', 2)] }, { id: 'B', changes: [value('P2', 3)] }] };
    const events = parseWebhook(payload, at);
    expect(events.filter((e) => e.kind === 'message')).toHaveLength(3);
    expect(events.filter((e) => e.kind === 'status')).toHaveLength(3);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(6);
  });

  it('other fields, echoes, value errors and foreign objects become unsupported events', () => {
    const events = [
      ...parseWebhook(envelope({}, 'account_update'), at),
      ...parseWebhook(envelope({ errors: [{ code: 131000, title: 'Something went wrong' }] }), at),
      ...parseWebhook(envelope({ message_echoes: [{ id: 'wamid.E' }] }), at),
      ...parseWebhook({ object: 'page', entry: [] }, at),
      ...parseWebhook('garbage', at),
      ...parseWebhook({ object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: {} }] }] }, at),
    ];
    expect(events).toHaveLength(6);
    for (const e of events) {
      expect(e.kind).toBe('unsupported');
      expect(InboundEvent.safeParse(e).success).toBe(true);
    }
  });
});

describe('parseWebhook: real payload shapes (issue 12)', () => {
  const only = (name: string) => {
    const events = parseWebhook(fixtureJson('whatsapp', name), at);
    expect(events).toHaveLength(1);
    expect(InboundEvent.safeParse(events[0]).success).toBe(true);
    return events[0]!;
  };

  it.each([
    ['10-unsupported-poll.json', 'poll_creation', true],
    ['11-unknown-type.json', 'unknown', true],
    ['13-interactive-without-body.json', 'interactive', true],
    ['12-revoke.json', 'revoke', false],
  ])('%s is an unsupported event of the customer, never a message', (name, providerType, customerContent) => {
    const e = only(name);
    if (e.kind !== 'unsupported') throw new Error(`expected unsupported, got ${e.kind}`);
    expect(e.providerType).toBe(providerType);
    expect(e.customerContent).toBe(customerContent);
    expect(e.conversation?.userId).toBe('16505551234');
    expect(e.providerMessageId).toMatch(/^wamid\./);
    expect(e.eventId).toMatch(/^wa-/);
  });

  it('an unknown future type is an unsupported customer event', () => {
    const [e] = parseWebhook(envelope({ contacts: [{ wa_id: '1555' }], messages: [{ from: '1555', id: 'wamid.H', type: 'hologram', hologram: {} }] }), at);
    expect(e?.kind).toBe('unsupported');
    if (e?.kind === 'unsupported') expect(e.customerContent).toBe(true);
  });

  it('14 edit: the edited message, marked as an edit of the original', () => {
    const e = only('14-edit-text.json');
    if (e.kind !== 'message') throw new Error('expected message');
    expect(e.content).toEqual({ type: 'text', text: 'Sorry, I meant order #4822, not #4821' });
    expect(e.editOf).toBe('wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMAA=');
  });

  it('an edit of an image caption keeps the media; an edit without its message is unsupported', () => {
    const [img] = parseWebhook(envelope({ contacts: [{ wa_id: '1555' }], messages: [{ from: '1555', id: 'wamid.E', type: 'edit', edit: { original_message_id: 'wamid.O', message: { context: { id: 'wamid.C' }, type: 'image', image: { id: 'M1', caption: 'new caption', mime_type: 'image/jpeg' } } } }] }), at);
    if (img?.kind !== 'message' || img.content.type !== 'image') throw new Error('expected image');
    expect(img.content.media.caption).toBe('new caption');
    expect(img.replyToProviderMessageId).toBe('wamid.C');
    const [bad] = parseWebhook(envelope({ contacts: [{ wa_id: '1555' }], messages: [{ from: '1555', id: 'wamid.F', type: 'edit', edit: { original_message_id: 'wamid.O' } }] }), at);
    expect(bad?.kind).toBe('unsupported');
    const [nested] = parseWebhook(envelope({ contacts: [{ wa_id: '1555' }], messages: [{ from: '1555', id: 'wamid.G', type: 'edit', edit: { original_message_id: 'wamid.O', message: { type: 'edit', edit: {} } } }] }), at);
    expect(nested?.kind).toBe('unsupported');
  });

  it('15 nfm_reply: the submitted fields are parsed from response_json', () => {
    const e = only('15-nfm-reply-flow.json');
    if (e.kind !== 'message' || e.content.type !== 'interactive') throw new Error('expected interactive');
    expect(e.content.interaction).toBe('nfm_reply');
    expect(e.content.response).toMatchObject({ appointment_date: '2026-12-05', party_size: '2', flow_token: 'ft_9f8e7d' });
  });

  it('a malformed response_json is kept as text, never a crash', () => {
    const e = oneMessage({ type: 'interactive', interactive: { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{"a":' } } });
    if (e.content.type !== 'interactive') throw new Error('expected interactive');
    expect(e.content.response).toBe('{"a":');
  });

  it('16 referral: the ad context is on the message', () => {
    const e = only('16-referral-ctwa.json');
    if (e.kind !== 'message') throw new Error('expected message');
    expect(e.referral).toMatchObject({ sourceType: 'ad', headline: 'Winter sale: 30% off all boots', body: 'Waterproof leather boots, free returns', sourceUrl: 'https://fb.me/3xAmPlEaD', mediaType: 'image', welcomeText: 'Hi! How can we help?' });
  });

  it('a hostile referral (wrong types) is ignored field by field', () => {
    const e = oneMessage({ type: 'text', text: { body: 'hi' }, referral: { headline: { x: 1 }, body: 42, source_url: ['a'] } });
    expect(e.referral).toEqual({ body: '42' });
    const e2 = oneMessage({ type: 'text', text: { body: 'hi' }, referral: 'nope' });
    expect(e2.referral).toBeUndefined();
  });
});

describe('parseWebhook with the phone numbers of an account', () => {
  const delivery = envelope({
    contacts: [{ profile: { name: 'A' }, wa_id: '15550001' }],
    messages: [{ from: '15550001', id: 'wamid.Y', timestamp: '1789000000', type: 'text', text: { body: 'hi' } }],
    statuses: [{ id: 'wamid.S', status: 'read', timestamp: '1789000000', recipient_id: '15550001' }],
  });

  it('parses the changes of a served number as usual', () => {
    expect(parseWebhook(delivery, at, { phoneNumberIds: new Set(['PN1']) }).map((e) => e.kind)).toEqual(['message', 'status']);
  });

  it('turns a change of another number into one event without customer or content', () => {
    const events = parseWebhook(delivery, at, { phoneNumberIds: new Set(['PN2']) });
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(InboundEvent.safeParse(e).success).toBe(true);
    expect(e).toMatchObject({ kind: 'unsupported', providerType: OTHER_PHONE_NUMBER });
    expect(e.kind === 'unsupported' && e.conversation).toBeFalsy();
    expect(JSON.stringify(e)).not.toMatch(/15550001|wamid|hi"/);
    expect(parseWebhook(delivery, at, { phoneNumberIds: new Set(['PN2']) })[0]?.eventId).toBe(e.eventId);
  });
});

describe('user_preferences (marketing messages stop / resume)', () => {
  const prefs = (value: string, category = 'marketing_messages', contacts: unknown[] = [{ profile: { name: 'A' }, wa_id: '15550001' }]) =>
    parseWebhook(envelope({ contacts, user_preferences: [{ wa_id: '15550001', detail: 'User requested to stop marketing messages', category, value, timestamp: 1789000000 }] }, 'user_preferences'), at);

  it('stop becomes an opted_out signal of the customer, resume an opted_in one', () => {
    const [stop] = prefs('stop');
    expect(InboundEvent.safeParse(stop).success).toBe(true);
    expect(stop).toMatchObject({ kind: 'signal', signal: 'opted_out', at: 1_789_000_000_000, conversation: { channel: 'whatsapp', account: 'PN1', userId: '15550001', address: '15550001', phone: '+15550001' }, detail: { category: 'marketing_messages' } });
    const [resume] = prefs('resume');
    expect(resume).toMatchObject({ kind: 'signal', signal: 'opted_in' });
    expect(resume!.eventId).not.toBe(stop!.eventId);
    // a redelivery has the same event id
    expect(prefs('stop')[0]!.eventId).toBe(stop!.eventId);
  });

  it('keys on the business-scoped user id like messages do', () => {
    const [e] = prefs('stop', 'marketing_messages', [{ wa_id: '15550001', user_id: 'US.1' }]);
    expect(e).toMatchObject({ kind: 'signal', conversation: { userId: 'US.1', address: '15550001' } });
  });

  it('other categories and values are acknowledged as unsupported', () => {
    expect(prefs('stop', 'other_category')[0]).toMatchObject({ kind: 'unsupported', providerType: 'user_preferences' });
    expect(prefs('maybe')[0]).toMatchObject({ kind: 'unsupported', providerType: 'user_preferences' });
  });
});

describe('parseWebhook: Coexistence echoes (smb_message_echoes)', () => {
  it('17: a message the business sent from the app is a business-authored message of the customer conversation', () => {
    const events = parseWebhook(fixtureJson('whatsapp', '17-smb-message-echo.json'), at);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(InboundEvent.safeParse(e).success).toBe(true);
    expect(e).toMatchObject({
      kind: 'message',
      author: 'business',
      providerMessageId: 'wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA',
      conversation: { channel: 'whatsapp', account: '109876543210987', userId: '16505551234', phone: '+16505551234' },
      content: { type: 'text', text: 'Hi Sheena, this is Maria from the shop: your order #4821 ships today.' },
    });
    // the same echo delivered again has the same event id (dedupe)
    expect(parseWebhook(fixtureJson('whatsapp', '17-smb-message-echo.json'), at)[0]!.eventId).toBe(e.eventId);
  });

  it('keys an echo on the business-scoped user id when present, as customer messages are', () => {
    const payload = fixtureJson<{ entry: Array<{ changes: Array<{ value: { message_echoes: Array<Record<string, unknown>> } }> }> }>('whatsapp', '17-smb-message-echo.json');
    payload.entry[0]!.changes[0]!.value.message_echoes[0]!.to_user_id = 'US.13491208655302741918';
    expect(parseWebhook(payload, at)[0]).toMatchObject({ kind: 'message', author: 'business', conversation: { userId: 'US.13491208655302741918', address: '16505551234' } });
  });

  it('an echo of a number the account does not serve, or without recipient, is unsupported', () => {
    const payload = fixtureJson('whatsapp', '17-smb-message-echo.json');
    expect(parseWebhook(payload, at, { phoneNumberIds: new Set(['1']) })[0]).toMatchObject({ kind: 'unsupported' });
    const bad = { object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'smb_message_echoes', value: { metadata: { phone_number_id: '1' }, message_echoes: [{ id: 'wamid.X' }, 'junk'] } }] }] };
    const events = parseWebhook(bad, at);
    expect(events.map((x) => x.kind)).toEqual(['unsupported', 'unsupported']);
  });
});
