/**
 * Unanswered questions on a real Redis: one entry per distinct question (normalised), counted once
 * per turn, listed most recently asked first with first/last time and channel, kept per account,
 * trimmed with their details, dismissed.
 */
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { agentKeys } from './keys.js';
import { normaliseQuestion, UNANSWERED_MAX, UnansweredQuestions, unansweredId } from './unanswered.js';

let redis: Redis;
const prefix = uniquePrefix('unans');

beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
});

test('two askings of one question share an id: case, spaces and closing punctuation do not matter', () => {
  expect(normaliseQuestion('  Do you sell   Helicopter parts?? ')).toBe('do you sell helicopter parts');
  expect(unansweredId('Do you sell helicopter parts?')).toBe(unansweredId('do you sell HELICOPTER parts'));
  expect(unansweredId('你们卖直升机零件吗？')).toBe(unansweredId('你们卖直升机零件吗'));
  expect(unansweredId('Do you sell boats?')).not.toBe(unansweredId('Do you sell helicopter parts?'));
});

test('records, counts once per turn, lists newest first, keeps accounts apart, dismisses', async () => {
  const q = new UnansweredQuestions(redis, agentKeys(prefix));
  const id = await q.record('shop-de', { question: 'Do you sell helicopter parts?', channel: 'whatsapp', turnId: 't1', at: 1_000 });
  // the same turn again (a retry) does not count
  await q.record('shop-de', { question: 'Do you sell helicopter parts?', channel: 'whatsapp', turnId: 't1', at: 1_000 });
  await q.record('shop-de', { question: 'Do you sell boats?', channel: 'telegram', turnId: 't2', at: 2_000 });
  expect(await q.record('shop-de', { question: 'do you sell helicopter parts', channel: 'wechat-kf', turnId: 't3', at: 3_000 })).toBe(id);
  await q.record('shop-fr', { question: 'Vendez-vous des bateaux ?', channel: 'telegram', turnId: 't4', at: 4_000 });

  expect(await q.list('shop-de')).toEqual([
    { id, account: 'shop-de', question: 'Do you sell helicopter parts?', count: 2, firstAskedAt: 1_000, lastAskedAt: 3_000, channel: 'wechat-kf' },
    { id: unansweredId('Do you sell boats?'), account: 'shop-de', question: 'Do you sell boats?', count: 1, firstAskedAt: 2_000, lastAskedAt: 2_000, channel: 'telegram' },
  ]);
  expect((await q.list('shop-fr')).map((e) => e.question)).toEqual(['Vendez-vous des bateaux ?']);
  expect(await q.list('nobody')).toEqual([]);
  expect(await q.list('shop-de', 1)).toHaveLength(1);

  expect(await q.dismiss('shop-de', id)).toBe(true);
  expect(await q.dismiss('shop-de', id)).toBe(false);
  expect((await q.list('shop-de')).map((e) => e.question)).toEqual(['Do you sell boats?']);
  expect(await redis.hexists(agentKeys(prefix).unansweredDetails('shop-de'), `q:${id}`)).toBe(0);
  // asked again after the dismissal: a new entry, counted from one
  await q.record('shop-de', { question: 'Do you sell helicopter parts?', channel: 'whatsapp', turnId: 't5', at: 5_000 });
  expect((await q.list('shop-de'))[0]).toMatchObject({ id, count: 1, firstAskedAt: 5_000 });
  expect(await redis.ttl(agentKeys(prefix).unanswered('shop-de'))).toBeGreaterThan(80 * 24 * 3600);
});

test(`keeps the ${UNANSWERED_MAX} most recently asked questions; the oldest leave with their details`, async () => {
  const q = new UnansweredQuestions(redis, agentKeys(prefix));
  const keys = agentKeys(prefix);
  for (let i = 0; i < UNANSWERED_MAX + 2; i++) await q.record('busy', { question: `question number ${i}`, channel: 'telegram', turnId: `t${i}`, at: 10_000 + i });
  expect(await redis.zcard(keys.unanswered('busy'))).toBe(UNANSWERED_MAX);
  expect(await redis.hlen(keys.unansweredDetails('busy'))).toBe(UNANSWERED_MAX * 4);
  const listed = await q.list('busy', UNANSWERED_MAX + 10);
  expect(listed).toHaveLength(UNANSWERED_MAX);
  expect(listed[0]?.question).toBe(`question number ${UNANSWERED_MAX + 1}`);
  expect(listed.map((e) => e.question)).not.toContain('question number 0');
  expect(listed.map((e) => e.question)).not.toContain('question number 1');
});
