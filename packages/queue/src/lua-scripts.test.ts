import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCRIPTS_DIR, scriptSources } from './lua-scripts';

describe('lua scripts', () => {
  const sources = scriptSources();

  it('finds every script file', () => {
    expect(sources.map((s) => s.command)).toEqual(
      expect.arrayContaining(['sbMailboxAccept', 'sbDeliveryUpdate', 'sbMemoryAppend', 'sbLockRenew', 'sbCompareAndDelete', 'sbReplyOrder', 'sbWechatSyncAcquire']),
    );
  });

  it.each(scriptSources().map((s) => [s.file, s] as const))('%s has a header listing KEYS, ARGV and output, and uses exactly its declared keys', (_file, s) => {
    const header = /^--\[\[([\s\S]*?)\]\]/.exec(readFileSync(join(SCRIPTS_DIR, s.file), 'utf8'))?.[1] ?? '';
    expect(header).toMatch(/Input:/);
    expect(header).toMatch(/Output:/);
    if (!/Input: as /.test(header)) {
      for (let k = 1; k <= s.numberOfKeys; k++) expect(header).toContain(`KEYS[${k}]`);
    }
    const used = [...s.lua.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
    expect(Math.max(...used)).toBe(s.numberOfKeys);
    expect(s.lua).not.toMatch(/@include/);
  });
});
