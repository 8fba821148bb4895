import { ChunkVectorCache, cosine, LruCache } from './vector-cache';

test('holds at most its float budget, dropping the least recently used vectors first', () => {
  const cache = new ChunkVectorCache(6);
  cache.set('a', [1, 0]);
  cache.set('b', [0, 1]);
  cache.set('c', [1, 1]);
  expect(cache.get('a')).toEqual(Float32Array.from([1, 0]));
  cache.set('d', [2, 2]);
  // 'b' was the least recently used: gone; 'a' was read since
  expect(cache.get('b')).toBeUndefined();
  expect(cache.size).toBe(3);
  // a vector larger than the whole budget is still returned, and pushes out the rest
  expect(cache.set('big', [1, 2, 3, 4, 5, 6, 7])).toHaveLength(7);
  expect(cache.size).toBe(1);
});

test('cosine similarity of number arrays and float arrays', () => {
  expect(cosine([1, 0], Float32Array.from([1, 0]))).toBeCloseTo(1);
  expect(cosine([1, 0], [0, 1])).toBeCloseTo(0);
  expect(cosine([0, 0], [1, 1])).toBe(0);
});

test('an LRU cache of plain entries keeps the most recently used up to its count', () => {
  const cache = new LruCache<number>(2);
  cache.set('a', 1);
  cache.set('b', 2);
  expect(cache.get('a')).toBe(1);
  cache.set('c', 3);
  expect(cache.get('b')).toBeUndefined();
  expect([cache.get('a'), cache.get('c'), cache.size]).toEqual([1, 3, 2]);
});
