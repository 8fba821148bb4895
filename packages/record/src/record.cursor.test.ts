import { decodeCursor, encodeCursor, InvalidCursorError } from './record.cursor';

describe('keyset cursors', () => {
  it('round-trips a position to the microsecond', () => {
    const pos = { at: '2026-11-01T09:00:00.123456Z', id: 'whatsapp-abc' };
    const cursor = encodeCursor(pos);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(pos);
  });

  it('refuses what it did not make', () => {
    const bad = ['', 'not base64 at all!', Buffer.from('{"at":"x"}').toString('base64url'), Buffer.from('["2026-11-01T09:00:00Z","x"]').toString('base64url'), Buffer.from('["2026-11-01T09:00:00.000000Z",""]').toString('base64url'), Buffer.from('["2026-11-01T09:00:00.000000Z",7]').toString('base64url')];
    for (const c of bad) expect(() => decodeCursor(c)).toThrow(InvalidCursorError);
  });
});
