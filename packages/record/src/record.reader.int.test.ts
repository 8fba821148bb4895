/**
 * The record's read side on a real PostgreSQL: list filters, full-text search in English and
 * Chinese (every word must occur), keyset pages that neither repeat nor skip (ties, microsecond
 * timestamps, conversations arriving between pages), a timeline with current statuses, handoffs
 * and bot turns, and an export larger than one batch that yields every message once.
 */
import { conversationId, silentLogger, type ConversationRef } from '@switchboard/core';
import { openStore, sql, type Store } from '@switchboard/store';
import { createTestDatabase, seedRecord, type SeedConversation, type SeedMessage, type TestDatabase } from '@switchboard/testkit';
import { InvalidCursorError } from './record.cursor';
import { RecordReader } from './record.reader';
import { RecordWriter } from './record.writer';

const T0 = Date.parse('2026-11-01T09:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const conv = (id: string, channel: string, extra: Partial<SeedConversation> = {}): SeedConversation => ({ id, channel, providerAccount: `${channel}-acct`, customerId: `cust-${id}`, ...extra });
const msg = (id: string, conversationId: string, minutes: number, text: string, extra: Partial<SeedMessage> = {}): SeedMessage => ({ id, conversationId, direction: 'in', author: 'customer', text, at: at(minutes), ...extra });

describe('RecordReader (real PostgreSQL)', () => {
  let db: TestDatabase;
  let store: Store;
  let reader: RecordReader;

  beforeAll(async () => {
    db = await createTestDatabase('rec_reader');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    reader = new RecordReader(store.db);
    await seedRecord(store.db, {
      conversations: [
        conv('wa-1', 'whatsapp', { customerName: 'Ada', customerId: '4915112345678' }),
        conv('wa-2', 'whatsapp', { account: 'shop-de', owner: 'human', handoffReason: 'customer asked for a person' }),
        conv('wc-1', 'wechat-kf', { customerName: '王小明', customerId: 'wmAbC' }),
        conv('wc-2', 'wechat-kf'),
        conv('tg-1', 'telegram'),
        conv('cw-1', 'chatwoot', { threadId: '77' }),
      ],
      messages: [
        msg('in:wa-1:1', 'wa-1', 0, 'Hello, where is my parcel?'),
        msg('out:wa-1:1', 'wa-1', 1, 'Your parcel ships tomorrow.', { direction: 'out', author: 'bot', origin: 'agent', providerMessageId: 'wamid.1', turnId: 'turn:wa-1:1' }),
        msg('in:wa-2:1', 'wa-2', 10, 'I want a refund for the broken lamp'),
        msg('out:wa-2:1', 'wa-2', 11, 'A colleague will help you with the refund.', { direction: 'out', author: 'human', origin: 'human', providerMessageId: 'wamid.2' }),
        msg('in:wc-1:1', 'wc-1', 20, '我想退货，退货期限是多久？'),
        msg('out:wc-1:1', 'wc-1', 21, '退货期限为30天。', { direction: 'out', author: 'bot', origin: 'agent', providerMessageId: 'msg-wc-1' }),
        msg('in:wc-2:1', 'wc-2', 30, '我要退款'),
        msg('in:tg-1:1', 'tg-1', 40, 'parcel lamp'),
        msg('in:cw-1:1', 'cw-1', 50, 'policy question about returns'),
      ],
    });
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  const ids = (items: Array<{ id: string }>) => items.map((i) => i.id);

  it('lists newest activity first with customer, counts and owner, filtered by channel, account, owner and time', async () => {
    const all = await reader.listConversations();
    expect(ids(all.items)).toEqual(['cw-1', 'tg-1', 'wc-2', 'wc-1', 'wa-2', 'wa-1']);
    expect(all.next).toBeUndefined();
    expect(all.items.find((c) => c.id === 'wa-1')).toEqual({
      id: 'wa-1',
      channel: 'whatsapp',
      account: 'default',
      customer: { id: '4915112345678', name: 'Ada' },
      firstMessageAt: at(0),
      lastMessageAt: at(1),
      messageCount: 2,
      owner: 'bot',
    });
    expect(all.items.find((c) => c.id === 'wa-2')).toMatchObject({ account: 'shop-de', owner: 'human', handoffReason: 'customer asked for a person', customer: { id: 'cust-wa-2' } });

    expect(ids((await reader.listConversations({ channel: 'whatsapp' })).items)).toEqual(['wa-2', 'wa-1']);
    expect(ids((await reader.listConversations({ account: 'shop-de' })).items)).toEqual(['wa-2']);
    expect(ids((await reader.listConversations({ owner: 'human' })).items)).toEqual(['wa-2']);
    expect(ids((await reader.listConversations({ channel: 'wechat-kf', owner: 'bot' })).items)).toEqual(['wc-2', 'wc-1']);
    // from inclusive, to exclusive, on the last message's time
    expect(ids((await reader.listConversations({ from: at(21), to: at(50) })).items)).toEqual(['tg-1', 'wc-2', 'wc-1']);
  });

  it('finds conversations by words of any message, English and Chinese, every word required', async () => {
    const search = async (q: string, extra = {}) => ids((await reader.listConversations({ q, ...extra })).items);
    expect(await search('parcel')).toEqual(['tg-1', 'wa-1']);
    expect(await search('PARCEL tomorrow')).toEqual(['wa-1']);
    expect(await search('refund')).toEqual(['wa-2']);
    expect(await search('parcel', { channel: 'telegram' })).toEqual(['tg-1']);
    expect(await search('退货')).toEqual(['wc-1']);
    expect(await search('退货期限')).toEqual(['wc-1']);
    // 退款 shares 退 with 退货 but is another word
    expect(await search('退款')).toEqual(['wc-2']);
    expect(await search('退')).toEqual(['wc-2', 'wc-1']);
    expect(await search('退货 30')).toEqual(['wc-1']);
    expect(await search('quantum')).toEqual([]);
    expect(await search('?!')).toEqual([]);
  });

  it('pages with an opaque cursor: no repeats, no gaps, across equal and microsecond timestamps and new arrivals', async () => {
    const conversations: SeedConversation[] = [];
    const messages: SeedMessage[] = [];
    // 12 conversations in channel "page": three share one timestamp, the rest one minute apart
    for (let i = 0; i < 12; i++) {
      const id = `pg-${String(i).padStart(2, '0')}`;
      conversations.push(conv(id, 'page'));
      messages.push(msg(`in:${id}`, id, i < 3 ? 100 : 100 + i, `page ${i}`));
    }
    await seedRecord(store.db, { conversations, messages });
    // sub-millisecond differences a JS Date cannot carry
    await store.db.updateTable('rec_conversation').set({ last_message_at: sql`last_message_at + interval '7 microseconds'` }).where('id', 'in', ['pg-05', 'pg-06']).execute();
    await store.db.updateTable('rec_conversation').set({ last_message_at: sql`(select last_message_at from rec_conversation where id = 'pg-05') - interval '1 microsecond'` }).where('id', '=', 'pg-04').execute();
    await store.db.updateTable('rec_conversation').set({ last_message_at: sql`(select last_message_at from rec_conversation where id = 'pg-05') + interval '1 microsecond'` }).where('id', '=', 'pg-07').execute();

    const expected = ids((await reader.listConversations({ channel: 'page', limit: 200 })).items);
    expect(expected).toHaveLength(12);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await reader.listConversations({ channel: 'page', limit: 2, cursor });
      seen.push(...ids(page.items));
      cursor = page.next;
      pages++;
      if (pages === 2) {
        // a conversation arriving between pages is newer than the cursor: it is not pushed into later pages
        await seedRecord(store.db, { conversations: [conv('pg-new', 'page')], messages: [msg('in:pg-new', 'pg-new', 500, 'late')] });
      }
    } while (cursor);
    expect(pages).toBe(6);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(12);
    expect(ids((await reader.listConversations({ channel: 'page', limit: 1 })).items)).toEqual(['pg-new']);

    await expect(reader.listConversations({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(reader.listConversations({ cursor: Buffer.from('["2026-01-01", "x"]').toString('base64url') })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('shows one conversation: messages both ways with current status and error code, handoffs, resumes and bot turns, by time', async () => {
    await seedRecord(store.db, {
      conversations: [conv('tl-1', 'whatsapp', { customerId: '4917000000001', customerName: 'Bea', owner: 'bot', hadHuman: true })],
      messages: [
        msg('in:tl-1:1', 'tl-1', 200, 'Do you ship to Austria?'),
        msg('out:tl-1:t1:0', 'tl-1', 201, 'Yes, in 3 days.', { direction: 'out', author: 'bot', origin: 'agent', providerMessageId: 'wamid.tl1', turnId: 'turn:tl-1:1' }),
        msg('out:tl-1:t1:1', 'tl-1', 201, 'Anything else?', { direction: 'out', author: 'bot', origin: 'agent', providerMessageId: 'wamid.tl2', turnId: 'turn:tl-1:1' }),
        msg('in:tl-1:2', 'tl-1', 203, 'I need a person', { contentType: 'text' }),
        msg('out:tl-1:h1:0', 'tl-1', 205, 'Hi, Carla here.', { direction: 'out', author: 'human', origin: 'human', providerMessageId: 'wamid.tl3' }),
        msg('in:tl-1:3', 'tl-1', 206, '', { contentType: 'image', media: { kind: 'image', mimeType: 'image/jpeg', sizeBytes: 2048 } }),
      ],
      // out of order and repeated, as providers report them
      statuses: [
        { id: 's1', channel: 'whatsapp', providerMessageId: 'wamid.tl1', status: 'read', at: at(202) },
        { id: 's2', channel: 'whatsapp', providerMessageId: 'wamid.tl1', status: 'sent', at: at(201) },
        { id: 's3', channel: 'whatsapp', providerMessageId: 'wamid.tl1', status: 'delivered', at: at(201.5) },
        { id: 's4', channel: 'whatsapp', providerMessageId: 'wamid.tl2', status: 'sent', at: at(201) },
        { id: 's5', channel: 'whatsapp', providerMessageId: 'wamid.tl3', status: 'failed', errorCode: 131047, errorTitle: 'Re-engagement message', at: at(205.2) },
        { id: 's6', channel: 'whatsapp', providerMessageId: 'wamid.tl3', status: 'delivered', at: at(205.5) },
        // another channel's message with the same provider id is not this one's
        { id: 's7', channel: 'telegram', providerMessageId: 'wamid.tl2', status: 'read', at: at(202) },
      ],
      events: [
        { id: 'e2', conversationId: 'tl-1', kind: 'resume', at: at(207), detail: { reason: 'bot_resumed' } },
        { id: 'e1', conversationId: 'tl-1', kind: 'handoff', at: at(204), detail: { reason: 'customer asked for a person', by: 'agent' } },
      ],
      turns: [
        {
          id: 'turn:tl-1:1',
          conversationId: 'tl-1',
          at: at(200.5),
          outcome: 'answered',
          model: 'gpt-4o-mini',
          variant: 'b',
          latencyMs: 1234,
          tokensIn: 812,
          tokensOut: 40,
          costUsd: 0.000146,
          tools: ['search_knowledge'],
          sources: [{ documentId: 'doc-1', title: 'Shipping', url: 'https://shop.example/shipping' }],
        },
        { id: 'turn:tl-1:2', conversationId: 'tl-1', at: at(203.5), outcome: 'handoff' },
      ],
    });
    const c = await reader.getConversation('tl-1');
    expect(c).toMatchObject({
      id: 'tl-1',
      channel: 'whatsapp',
      account: 'default',
      providerAccount: 'whatsapp-acct',
      customer: { id: '4917000000001', name: 'Bea' },
      messageCount: 6,
      owner: 'bot',
      hadHuman: true,
      firstMessageAt: at(200),
      lastMessageAt: at(206),
    });
    expect(c!.messages.map((m) => [m.id, m.direction, m.author, m.status, m.error])).toEqual([
      ['in:tl-1:1', 'in', 'customer', undefined, undefined],
      ['out:tl-1:t1:0', 'out', 'bot', 'read', undefined],
      ['out:tl-1:t1:1', 'out', 'bot', 'sent', undefined],
      ['in:tl-1:2', 'in', 'customer', undefined, undefined],
      ['out:tl-1:h1:0', 'out', 'human', 'failed', { code: 131047, title: 'Re-engagement message' }],
      ['in:tl-1:3', 'in', 'customer', undefined, undefined],
    ]);
    expect(c!.messages[1]).toMatchObject({ text: 'Yes, in 3 days.', origin: 'agent', turnId: 'turn:tl-1:1', providerMessageId: 'wamid.tl1', at: at(201), statusAt: at(202) });
    expect(c!.messages[5]).toMatchObject({ contentType: 'image', media: { kind: 'image', mimeType: 'image/jpeg', sizeBytes: 2048 } });
    expect(c!.events).toEqual([
      { id: 'e1', kind: 'handoff', at: at(204), reason: 'customer asked for a person', detail: { reason: 'customer asked for a person', by: 'agent' } },
      { id: 'e2', kind: 'resume', at: at(207), reason: 'bot_resumed', detail: { reason: 'bot_resumed' } },
    ]);
    expect(c!.turns).toEqual([
      {
        id: 'turn:tl-1:1',
        at: at(200.5),
        outcome: 'answered',
        model: 'gpt-4o-mini',
        variant: 'b',
        latencyMs: 1234,
        tokensIn: 812,
        tokensOut: 40,
        costUsd: 0.000146,
        tools: ['search_knowledge'],
        sources: [{ documentId: 'doc-1', title: 'Shipping', url: 'https://shop.example/shipping' }],
      },
      { id: 'turn:tl-1:2', at: at(203.5), outcome: 'handoff', tokensIn: 0, tokensOut: 0, costUsd: 0, tools: [], sources: [] },
    ]);
    expect(await reader.getConversation('nope')).toBeUndefined();
  });

  it('exports a range larger than one batch: every message once, oldest first, from inclusive and to exclusive', async () => {
    const day = Date.parse('2026-10-01T00:00:00.000Z');
    const conversations: SeedConversation[] = [];
    const messages: SeedMessage[] = [];
    for (let c = 0; c < 9; c++) conversations.push(conv(`ex-${c}`, c % 2 ? 'telegram' : 'whatsapp', { account: c % 3 ? 'default' : 'shop-de' }));
    // 1050 messages; every 5 share a timestamp, so equal times straddle batch boundaries
    for (let i = 0; i < 1050; i++) {
      const c = i % 9;
      messages.push({ id: `ex-m-${String(i).padStart(4, '0')}`, conversationId: `ex-${c}`, direction: i % 2 ? 'out' : 'in', author: i % 2 ? 'bot' : 'customer', text: `export ${i}`, at: new Date(day + Math.floor(i / 5) * 1000) });
    }
    await seedRecord(store.db, { conversations, messages });
    // microseconds on some rows: the cursor keeps them
    await store.db.updateTable('rec_message').set({ at: sql`at + interval '250 microseconds'` }).where('id', 'in', ['ex-m-0099', 'ex-m-0100', 'ex-m-0101']).execute();

    const from = new Date(day);
    const to = new Date(day + 200 * 1000); // messages 0..999 (1000..1049 are at or after `to`)
    const lines = [];
    for await (const line of reader.exportMessages({ from, to, batchSize: 64 })) lines.push(line);
    expect(lines).toHaveLength(1000);
    expect(new Set(lines.map((l) => l.text)).size).toBe(1000);
    expect(lines.map((l) => l.text).sort()).toEqual(messages.slice(0, 1000).map((m) => m.text).sort());
    const times = lines.map((l) => Date.parse(l.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(lines[0]).toEqual({ conversationId: 'ex-0', channel: 'whatsapp', account: 'shop-de', customerId: 'cust-ex-0', direction: 'in', author: 'customer', text: 'export 0', at: '2026-10-01T00:00:00.000Z' });
    expect(lines.find((l) => l.text === 'export 1')).toMatchObject({ conversationId: 'ex-1', channel: 'telegram', account: 'default', direction: 'out', author: 'bot' });

    // a narrower range; the default batch
    const few = [];
    for await (const line of reader.exportMessages({ from: new Date(day + 10_000), to: new Date(day + 12_000) })) few.push(line.text);
    expect(few).toEqual(['export 50', 'export 51', 'export 52', 'export 53', 'export 54', 'export 55', 'export 56', 'export 57', 'export 58', 'export 59']);
  });

  it('reads the export lazily, one batch per query', async () => {
    let queries = 0;
    const counting = new RecordReader(store.db.withPlugin({ transformQuery: (a) => { queries++; return a.node; }, transformResult: async (a) => a.result }));
    const iterator = counting.exportMessages({ from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-10-02T00:00:00Z'), batchSize: 100 })[Symbol.asyncIterator]();
    await iterator.next();
    expect(queries).toBe(1);
    for (let i = 0; i < 100; i++) await iterator.next();
    expect(queries).toBe(2);
    await iterator.return?.(undefined);
  });

  it('reads one conversation as one snapshot: a batch committed while it reads shows in neither the row nor the timeline', async () => {
    const ref: ConversationRef = { channel: 'telegram', account: 'bot-1', userId: 'snap-1' };
    const id = conversationId(ref);
    const writer = new RecordWriter(store.db);
    await writer.write([{ kind: 'message', id: 'in:snap-1', ref, direction: 'in', author: 'customer', contentType: 'text', text: 'first', at: T0 }]);
    let wrote = false;
    // right after the conversation row is read, another connection commits a message and a handoff
    const racing = new RecordReader(
      store.db.withPlugin({
        transformQuery: (a) => a.node,
        transformResult: async (a) => {
          if (!wrote && a.result.rows.some((r) => 'message_count' in (r as object))) {
            wrote = true;
            await writer.write([
              { kind: 'message', id: 'in:snap-2', ref, direction: 'in', author: 'customer', contentType: 'text', text: 'second', at: T0 + 1000 },
              { kind: 'event', id: 'owner:snap', ref, event: 'handoff', detail: { reason: 'asked for a person' }, at: T0 + 1000 },
            ]);
          }
          return a.result;
        },
      }),
    );
    const during = await racing.getConversation(id);
    expect(wrote).toBe(true);
    expect(during).toMatchObject({ messageCount: 1, owner: 'bot', events: [] });
    expect(during!.messages.map((m) => m.id)).toEqual(['in:snap-1']);
    const after = await reader.getConversation(id);
    expect(after).toMatchObject({ messageCount: 2, owner: 'human', events: [expect.objectContaining({ kind: 'handoff' })] });
    expect(after!.messages.map((m) => m.id)).toEqual(['in:snap-1', 'in:snap-2']);
  });

  it('shows and exports what a voice note said beside its normalized text', async () => {
    const ref: ConversationRef = { channel: 'telegram', account: 'bot-1', userId: 'voice-1' };
    await new RecordWriter(store.db).write([
      { kind: 'message', id: 'in:voice-1', ref, direction: 'in', author: 'customer', contentType: 'audio', text: '[voice message]', mediaText: 'please cancel order 99', media: { kind: 'voice' }, at: T0 + 5000 },
    ]);
    const detail = await reader.getConversation(conversationId(ref));
    expect(detail!.messages[0]).toMatchObject({ text: '[voice message]', mediaText: 'please cancel order 99' });
    expect((await reader.listConversations({ q: 'cancel order' })).items.map((c) => c.id)).toEqual([conversationId(ref)]);
    const lines = [];
    for await (const line of reader.exportMessages({ from: new Date(T0 + 4000), to: new Date(T0 + 6000) })) lines.push(line);
    expect(lines).toEqual([expect.objectContaining({ text: '[voice message]', mediaText: 'please cancel order 99' })]);
  });
});
