import { memoizeRecent } from './memo';

test('keeps results of recent arguments, forgets all when full, never keeps long arguments', () => {
  let calls = 0;
  const f = memoizeRecent((s: string) => {
    calls += 1;
    return s.length ? s.toUpperCase() : undefined;
  }, 2, 5);
  expect(f('ab')).toBe('AB');
  expect(f('ab')).toBe('AB');
  expect(calls).toBe(1);
  // an undefined result is kept too
  expect(f('')).toBeUndefined();
  expect(f('')).toBeUndefined();
  expect(calls).toBe(2);
  // full: a third argument forgets the others
  f('cd');
  f('ab');
  expect(calls).toBe(4);
  // longer than 5 characters: computed every time
  f('abcdef');
  f('abcdef');
  expect(calls).toBe(6);
});
