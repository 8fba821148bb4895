import { BusinessHoursConfig } from './config.schema.js';
import { formatOpening, instantOf, isOpenAt, nextOpeningAt } from './business-hours.js';

const berlin = BusinessHoursConfig.parse({
  timeZone: 'Europe/Berlin',
  weekly: { mon: ['09:00-12:00', '13:00-18:00'], tue: ['09:00-18:00'], wed: ['09:00-18:00'], thu: ['09:00-18:00'], fri: ['09:00-17:00'] },
  holidays: ['2026-12-25'],
});
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('business hours', () => {
  it('is open inside a range, closed at lunch, at night, on weekends and holidays', () => {
    expect(isOpenAt(berlin, 'Europe/Berlin', Date.parse('2026-12-07T08:30:00Z'))).toBe(true); // Mon 09:30 CET
    expect(isOpenAt(berlin, 'Europe/Berlin', Date.parse('2026-12-07T11:30:00Z'))).toBe(false); // Mon 12:30 lunch
    expect(isOpenAt(berlin, 'Europe/Berlin', Date.parse('2026-12-07T17:00:00Z'))).toBe(false); // Mon 18:00 closed
    expect(isOpenAt(berlin, 'Europe/Berlin', Date.parse('2026-12-05T10:00:00Z'))).toBe(false); // Saturday
    expect(isOpenAt(berlin, 'Europe/Berlin', Date.parse('2026-12-25T10:00:00Z'))).toBe(false); // Friday, holiday
  });

  it('finds the next opening across the weekend and a holiday', () => {
    expect(iso(nextOpeningAt(berlin, 'Europe/Berlin', Date.parse('2026-12-04T17:30:00Z')))).toBe('2026-12-07T08:00:00.000Z'); // Fri 18:30 → Mon 09:00
    expect(iso(nextOpeningAt(berlin, 'Europe/Berlin', Date.parse('2026-12-24T18:00:00Z')))).toBe('2026-12-28T08:00:00.000Z'); // Thu evening, Fri holiday → Mon
    expect(iso(nextOpeningAt(berlin, 'Europe/Berlin', Date.parse('2026-12-07T11:30:00Z')))).toBe('2026-12-07T12:00:00.000Z'); // lunch → 13:00
  });

  it('follows daylight saving time', () => {
    // Sunday 2026-03-29 Europe/Berlin springs forward: Monday 09:00 is 07:00Z, the Friday before 08:00Z
    expect(iso(nextOpeningAt(berlin, 'Europe/Berlin', Date.parse('2026-03-27T17:00:00Z')))).toBe('2026-03-30T07:00:00.000Z');
    expect(isOpenAt(berlin, 'Europe/Berlin', Date.parse('2026-03-30T07:30:00Z'))).toBe(true);
    expect(isOpenAt(berlin, 'Europe/Berlin', Date.parse('2026-03-27T07:30:00Z'))).toBe(false);
    // New York falls back on 2026-11-01
    expect(iso(instantOf(2026, 11, 2, 9 * 60, 'America/New_York'))).toBe('2026-11-02T14:00:00.000Z');
    expect(iso(instantOf(2026, 10, 30, 9 * 60, 'America/New_York'))).toBe('2026-10-30T13:00:00.000Z');
  });

  it('never opens without ranges', () => {
    expect(nextOpeningAt(BusinessHoursConfig.parse({}), 'UTC', Date.now())).toBeUndefined();
  });

  it('formats the opening in the customer language', () => {
    const at = Date.parse('2026-12-07T08:00:00Z');
    expect(formatOpening(at, 'Europe/Berlin', 'en')).toMatch(/Monday.*09:00/);
    expect(formatOpening(at, 'Europe/Berlin', 'de')).toMatch(/Montag.*09:00/);
  });

  it('refuses bad ranges and zones', () => {
    expect(BusinessHoursConfig.safeParse({ weekly: { mon: ['18:00-09:00'] } }).success).toBe(false);
    expect(BusinessHoursConfig.safeParse({ weekly: { mon: ['9-5'] } }).success).toBe(false);
    expect(BusinessHoursConfig.safeParse({ timeZone: 'Mars/Olympus' }).success).toBe(false);
  });
});
