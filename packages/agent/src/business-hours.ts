import { WEEKDAYS, type BusinessHoursConfig, type Weekday } from './config.schema.js';

export { WEEKDAYS, type Weekday };

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Local wall-clock parts of an instant in a zone. */
interface LocalParts {
  readonly date: string;
  readonly weekday: Weekday;
  readonly minutes: number;
  readonly y: number;
  readonly m: number;
  readonly d: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

function localParts(ms: number, timeZone: string): LocalParts & { h: number; mi: number; s: number } {
  const p = Object.fromEntries(partsFormatter(timeZone).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const y = Number(p.year);
  const m = Number(p.month);
  const d = Number(p.day);
  const h = Number(p.hour) % 24;
  const mi = Number(p.minute);
  const s = Number(p.second);
  const weekday = WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()] ?? 'sun';
  return { y, m, d, h, mi, s, weekday, minutes: h * 60 + mi, date: `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}` };
}

/** Offset of `timeZone` from UTC at instant `ms` (ms, positive east of Greenwich). */
function offsetAt(ms: number, timeZone: string): number {
  const l = localParts(ms, timeZone);
  return Date.UTC(l.y, l.m - 1, l.d, l.h, l.mi, l.s) - Math.floor(ms / 1000) * 1000;
}

/** The instant of a local wall-clock time (a time skipped by a DST change lands just after the gap). */
export function instantOf(y: number, m: number, d: number, minutes: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d, Math.floor(minutes / 60), minutes % 60);
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  return second;
}

function rangesOf(cfg: BusinessHoursConfig, weekday: Weekday): Array<[number, number]> {
  return (cfg.weekly[weekday] ?? []).map((r) => [minutesOf(r.slice(0, 5)), minutesOf(r.slice(6))] as [number, number]).sort((a, b) => a[0] - b[0]);
}

/** Whether people are in at `now`. */
export function isOpenAt(cfg: BusinessHoursConfig, timeZone: string, now: number): boolean {
  const l = localParts(now, timeZone);
  if (cfg.holidays.includes(l.date)) return false;
  return rangesOf(cfg, l.weekday).some(([start, end]) => l.minutes >= start && l.minutes < end);
}

/** The next opening after `now` (ms), looking up to a year ahead; undefined = never open. */
export function nextOpeningAt(cfg: BusinessHoursConfig, timeZone: string, now: number): number | undefined {
  const today = localParts(now, timeZone);
  for (let i = 0; i <= 366; i++) {
    const day = new Date(Date.UTC(today.y, today.m - 1, today.d + i));
    const y = day.getUTCFullYear();
    const m = day.getUTCMonth() + 1;
    const d = day.getUTCDate();
    const date = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    if (cfg.holidays.includes(date)) continue;
    for (const [start] of rangesOf(cfg, WEEKDAYS[day.getUTCDay()] ?? 'sun')) {
      const at = instantOf(y, m, d, start, timeZone);
      if (at > now) return at;
    }
  }
  return undefined;
}

/** "Monday 09:00 (CET)" in the customer's language, in the business's zone. */
export function formatOpening(at: number, timeZone: string, lang: string | undefined): string {
  const opts: Intl.DateTimeFormatOptions = { timeZone, weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' };
  try {
    return new Intl.DateTimeFormat(lang ?? 'en', opts).format(new Date(at));
  } catch {
    return new Intl.DateTimeFormat('en', opts).format(new Date(at));
  }
}

/** Said outside hours when the configuration has no `messages.notice`. */
export const DEFAULT_OUTSIDE_HOURS_NOTICE = {
  notice: { en: 'Our team is away right now and back {opening}. I can still help you in the meantime.', zh: '我们的客服团队目前不在线，将于{opening}回来。在此期间我仍可以为您提供帮助。' },
  queue: { en: 'Our team is away right now and back {opening}. A colleague will answer you then.', zh: '我们的客服团队目前不在线，将于{opening}回来，届时会有同事回复您。' },
} as const;

/** Outside business hours: what to do and when people are back. */
export interface OutsideHours {
  readonly outside: 'notice' | 'queue';
  /** The next opening (ms); undefined = no opening in the next year. */
  readonly nextOpenAt: number | undefined;
  /** The notice, in the customer's language when the configuration has it. */
  readonly notice: string;
}
