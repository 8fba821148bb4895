import type { ApiError } from './api';
import { analyticsQuery, parseBound } from './analytics.routes';

const NOW = Date.parse('2026-11-20T15:30:00Z');

describe('analytics range parsing', () => {
  it('reads a date as a UTC day: its start as `from`, its end as `to` (the day is included)', () => {
    expect(parseBound('2026-11-02', 'from')?.toISOString()).toBe('2026-11-02T00:00:00.000Z');
    expect(parseBound('2026-11-02', 'to')?.toISOString()).toBe('2026-11-03T00:00:00.000Z');
    expect(parseBound('2024-02-29', 'from')?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });

  it('reads date-times with their offset, exactly', () => {
    expect(parseBound('2026-11-02T08:00:00+08:00', 'from')?.toISOString()).toBe('2026-11-02T00:00:00.000Z');
    expect(parseBound('2026-11-02T10:15Z', 'to')?.toISOString()).toBe('2026-11-02T10:15:00.000Z');
    expect(parseBound('2026-11-02T10:15:00.123456Z', 'to')?.toISOString()).toBe('2026-11-02T10:15:00.123Z');
  });

  it('refuses what is not an ISO 8601 date or date-time with an offset', () => {
    for (const bad of ['', 'today', '2026-11-2', '2026-02-30', '2025-02-29', '2026-13-01', '2026-11-02T10:00:00', '2026-11-02 10:00:00Z', '2026-11-02T24:30:00Z', '2026-02-30T10:00:00Z', '1730000000000']) {
      expect({ bad, parsed: parseBound(bad, 'from') }).toEqual({ bad, parsed: undefined });
    }
  });

  it('defaults to the 30 days before now, or before `to`', () => {
    expect(analyticsQuery({}, NOW)).toEqual({ from: new Date(NOW - 30 * 86_400_000), to: new Date(NOW) });
    expect(analyticsQuery({ to: '2026-11-10' }, NOW)).toEqual({ from: new Date('2026-10-12T00:00:00Z'), to: new Date('2026-11-11T00:00:00Z') });
    // empty parameters are absent ones (a form's blank field)
    expect(analyticsQuery({ from: '2026-11-01', to: '', channel: '', account: '' }, NOW)).toEqual({ from: new Date('2026-11-01T00:00:00Z'), to: new Date(NOW) });
  });

  it('passes the filters and refuses bad ones, reversed and too long ranges with 400 invalid_request', () => {
    expect(analyticsQuery({ from: '2026-11-01', to: '2026-11-01', channel: 'telegram', account: 'shop-de' }, NOW)).toEqual({ from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-02T00:00:00Z'), channel: 'telegram', account: 'shop-de' });
    for (const query of [{ from: '2026-11-02', to: '2026-11-01' }, { from: '2026-11-01T10:00:00Z', to: '2026-11-01T10:00:00Z' }, { from: '2010-01-01', to: '2026-11-01' }, { channel: 'sms' }, { account: 'UPPER' }, { from: ['2026-11-01', '2026-11-02'] }, { page: '2' }]) {
      let err: unknown;
      try {
        analyticsQuery(query, NOW);
      } catch (e) {
        err = e;
      }
      expect({ query, status: (err as ApiError).status, code: (err as ApiError).code }).toEqual({ query, status: 400, code: 'invalid_request' });
    }
  });
});
