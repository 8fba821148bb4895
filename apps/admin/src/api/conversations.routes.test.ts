import { EXPORT_DEFAULT_DAYS, exportRange } from './conversations.routes';

const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const DAY = 24 * 3600 * 1000;

describe('exportRange', () => {
  it('defaults to the last 30 days', () => {
    expect(exportRange(undefined, undefined, NOW)).toEqual({ from: new Date(NOW - EXPORT_DEFAULT_DAYS * DAY), to: new Date(NOW) });
  });

  it('fills the missing end: to = now after a from, from = 30 days before a to', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    expect(exportRange(from, undefined, NOW)).toEqual({ from, to: new Date(NOW) });
    const to = new Date('2026-06-01T00:00:00Z');
    expect(exportRange(undefined, to, NOW)).toEqual({ from: new Date(to.getTime() - 30 * DAY), to });
  });

  it('keeps a from in the future a non-empty range', () => {
    const from = new Date(NOW + DAY);
    expect(exportRange(from, undefined, NOW)).toEqual({ from, to: new Date(from.getTime() + 1) });
  });
});
