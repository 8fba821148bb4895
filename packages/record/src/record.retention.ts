import { sql, type Database, type Kysely } from '@switchboard/store';
import type { RecordRetention } from './record.env.js';

/** Rows one delete statement removes at most (short transactions; the loop continues). */
const DELETE_CHUNK = 5000;
const DAY_MS = 86_400_000;
/**
 * Days an erasure tombstone is kept: longer than any record job can wait (20 attempts of
 * exponential backoff are about 6 days) and than providers redeliver (WhatsApp: 7 days).
 */
export const ERASURE_TOMBSTONE_DAYS = 30;

/** What one retention pass removed. */
export interface RetentionResult {
  messages: number;
  statuses: number;
  events: number;
  turns: number;
  media: number;
  conversations: number;
  /** Erasure tombstones older than {@link ERASURE_TOMBSTONE_DAYS}. */
  tombstones: number;
}

/**
 * Applies retention per kind: messages (with delivery statuses and conversation events) older
 * than `messagesDays`, turn details older than `turnsDays`, media metadata of messages older than
 * `mediaDays` (the message stays, its `media` is cleared). Conversations left without any row are
 * deleted; the others' message count and first message time follow what is left. 0 = keep.
 * Erasure tombstones go after {@link ERASURE_TOMBSTONE_DAYS} whatever the settings.
 */
export async function applyRetention(db: Kysely<Database>, retention: RecordRetention, now = Date.now()): Promise<RetentionResult> {
  const out: RetentionResult = { messages: 0, statuses: 0, events: 0, turns: 0, media: 0, conversations: 0, tombstones: 0 };
  const tombstonesBefore = new Date(now - ERASURE_TOMBSTONE_DAYS * DAY_MS);
  out.tombstones = Number((await db.deleteFrom('rec_erasure').where('erased_at', '<', tombstonesBefore).executeTakeFirst()).numDeletedRows);
  const touched = new Set<string>();
  if (retention.messagesDays > 0) {
    const before = new Date(now - retention.messagesDays * DAY_MS);
    for (;;) {
      const gone = await db
        .deleteFrom('rec_message')
        .where('id', 'in', (q) => q.selectFrom('rec_message').select('id').where('at', '<', before).limit(DELETE_CHUNK))
        .returning('conversation_id')
        .execute();
      out.messages += gone.length;
      for (const r of gone) touched.add(r.conversation_id);
      if (gone.length < DELETE_CHUNK) break;
    }
    for (;;) {
      const n = (await db.deleteFrom('rec_status').where('id', 'in', (q) => q.selectFrom('rec_status').select('id').where('at', '<', before).limit(DELETE_CHUNK)).executeTakeFirst()).numDeletedRows;
      out.statuses += Number(n);
      if (n < BigInt(DELETE_CHUNK)) break;
    }
    for (;;) {
      const gone = await db.deleteFrom('rec_event').where('id', 'in', (q) => q.selectFrom('rec_event').select('id').where('at', '<', before).limit(DELETE_CHUNK)).returning('conversation_id').execute();
      out.events += gone.length;
      for (const r of gone) touched.add(r.conversation_id);
      if (gone.length < DELETE_CHUNK) break;
    }
  }
  if (retention.turnsDays > 0) {
    const before = new Date(now - retention.turnsDays * DAY_MS);
    for (;;) {
      const gone = await db.deleteFrom('rec_turn').where('id', 'in', (q) => q.selectFrom('rec_turn').select('id').where('at', '<', before).limit(DELETE_CHUNK)).returning('conversation_id').execute();
      out.turns += gone.length;
      for (const r of gone) touched.add(r.conversation_id);
      if (gone.length < DELETE_CHUNK) break;
    }
  }
  if (retention.mediaDays > 0) {
    const before = new Date(now - retention.mediaDays * DAY_MS);
    for (;;) {
      const n = (
        await db
          .updateTable('rec_message')
          .set({ media: null })
          .where('id', 'in', (q) => q.selectFrom('rec_message').select('id').where('at', '<', before).where('media', 'is not', null).limit(DELETE_CHUNK))
          .executeTakeFirst()
      ).numUpdatedRows;
      out.media += Number(n);
      if (n < BigInt(DELETE_CHUNK)) break;
    }
  }
  const ids = [...touched].sort();
  for (let i = 0; i < ids.length; i += DELETE_CHUNK) {
    const part = ids.slice(i, i + DELETE_CHUNK);
    const removed = await db
      .deleteFrom('rec_conversation')
      .where('id', 'in', part)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('rec_message').select(sql`1`.as('one')).whereRef('rec_message.conversation_id', '=', 'rec_conversation.id'))))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('rec_turn').select(sql`1`.as('one')).whereRef('rec_turn.conversation_id', '=', 'rec_conversation.id'))))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('rec_event').select(sql`1`.as('one')).whereRef('rec_event.conversation_id', '=', 'rec_conversation.id'))))
      .executeTakeFirst();
    out.conversations += Number(removed.numDeletedRows);
    await sql`
      update rec_conversation c set
        message_count = m.n,
        first_message_at = coalesce(m.first_at, c.first_message_at),
        last_message_at = coalesce(m.last_at, c.last_message_at),
        updated_at = now()
      from (
        select c2.id, count(rm.id)::int as n, min(rm.at) as first_at, max(rm.at) as last_at
        from rec_conversation c2 left join rec_message rm on rm.conversation_id = c2.id
        where c2.id = any(${part}::text[]) group by c2.id
      ) m
      where c.id = m.id and (c.message_count <> m.n or c.first_message_at is distinct from coalesce(m.first_at, c.first_message_at))`.execute(db);
  }
  return out;
}
