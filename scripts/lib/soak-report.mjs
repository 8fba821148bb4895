// Checks of the chaos soak (scripts/soak.mjs): from the messages sent and the replies the fake
// providers accepted, per channel and in total: lost, duplicate replies, per-conversation order
// violations, misrouted replies and webhook→reply latency. Pure functions.
import { probesIn } from './soak-payloads.mjs';

/** How close to a worker kill -9 the first copy of a duplicated reply must be to be listed as "near a kill". */
export const KILL_WINDOW_MS = 1000;
/** A send in flight when a lost-response burst ended still loses its response (client timeout 15 s). */
const LOST_RESPONSE_TAIL_MS = 15_000;

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);

/**
 * @param {object} o
 * @param o.messages Map `c:k` → {ch, c, k, firstSentAt, acceptedAt}
 * @param o.convs array index c → {ch, address}
 * @param o.replies [{ch, to, text, at}] in the order the providers accepted them
 * @param o.channels channel names to report (in order)
 * @param o.killTimes worker kill -9 times (ms)
 * @param o.lostResponseWindows [[from, to]] of Graph `lost-response` bursts (ms)
 * @param [o.loadStart] when the load began (ms)
 */
export function analyse({ messages, convs, replies, channels, killTimes = [], lostResponseWindows = [], loadStart = 0 }) {
  const blank = () => ({ conversations: 0, sent: 0, accepted: 0, replies: 0, answered: 0, lost: 0, duplicates: 0, dupNearKill: 0, dupLostResponse: 0, orderViolations: 0, misrouted: 0, noProbe: 0, lat: [] });
  const per = Object.fromEntries(channels.map((ch) => [ch, blank()]));
  const stat = (ch) => (per[ch] ??= blank());
  for (const conv of convs) stat(conv.ch).conversations += 1;
  for (const m of messages.values()) {
    const s = stat(m.ch);
    s.sent += 1;
    if (m.acceptedAt !== undefined) s.accepted += 1;
  }
  const firstAt = new Map();
  const seen = new Map();
  const byConv = new Map();
  const suspects = new Set();
  for (const r of replies) {
    const s = stat(r.ch);
    s.replies += 1;
    const tokens = probesIn(r.text);
    if (tokens.length === 0) s.noProbe += 1;
    for (const [c, k] of tokens) {
      const conv = convs[c];
      if (!conv || conv.ch !== r.ch || conv.address !== r.to) {
        s.misrouted += 1;
        suspects.add(c);
      }
      const key = `${c}:${k}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      const owner = stat(conv?.ch ?? r.ch);
      if (n > 1) {
        owner.duplicates += 1;
        suspects.add(c);
        const first = firstAt.get(key);
        if (killTimes.some((t) => Math.abs(first - t) <= KILL_WINDOW_MS)) owner.dupNearKill += 1;
        if (lostResponseWindows.some(([a, b]) => first >= a && first <= b + LOST_RESPONSE_TAIL_MS)) owner.dupLostResponse += 1;
        continue; // order is checked on first deliveries only
      }
      firstAt.set(key, r.at);
      if (!byConv.has(c)) byConv.set(c, []);
      byConv.get(c).push(k);
    }
  }
  for (const [c, ks] of byConv) {
    for (let i = 1; i < ks.length; i++) {
      if (ks[i] <= ks[i - 1]) {
        stat(convs[c]?.ch ?? 'unknown').orderViolations += 1;
        suspects.add(c);
      }
    }
  }
  const lostKeys = [];
  for (const m of messages.values()) {
    if (m.acceptedAt === undefined) continue;
    const key = `${m.c}:${m.k}`;
    const s = stat(m.ch);
    const at = firstAt.get(key);
    if (at === undefined) {
      s.lost += 1;
      lostKeys.push(key);
      suspects.add(m.c);
      continue;
    }
    s.answered += 1;
    // WeChat: another callback's pull can fetch a message before its own callback got its 200
    s.lat.push(Math.max(0, at - m.acceptedAt));
  }
  const total = blank();
  for (const s of Object.values(per)) {
    for (const [k, v] of Object.entries(s)) if (k !== 'lat') total[k] += v;
    total.lat.push(...s.lat);
  }
  const finish = (s) => {
    s.lat.sort((a, b) => a - b);
    const { lat, ...rest } = s;
    return { ...rest, p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), max: lat.at(-1) ?? null };
  };
  const perChannel = Object.fromEntries(Object.entries(per).map(([ch, s]) => [ch, finish(s)]));
  const t = finish(total);
  const detail = [...suspects].slice(0, 12).map((c) => {
    const conv = convs[c];
    const rs = replies.filter((r) => conv && r.ch === conv.ch && r.to === conv.address);
    const list = rs.map((r) => `[${probesIn(r.text).map(([, k]) => k).join(',')}]@${((r.at - loadStart) / 1000).toFixed(1)}s`).join(' ');
    return `c${c} (${conv?.ch} ${conv?.address}): replies ${list}`;
  });
  return { perChannel, total: t, lostKeys: lostKeys.slice(0, 20), detail, firstReplyAt: firstAt };
}

/** The per-channel table: one row per channel plus the total. */
export function formatTable(perChannel, total) {
  const ms = (v) => (v === null || v === undefined ? '-' : String(v));
  const head = ['channel', 'convs', 'sent', 'accepted', 'replies', 'lost', 'dup', 'order', 'misrouted', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'];
  const row = (name, s) => [name, s.conversations, s.sent, s.accepted, s.replies, s.lost, s.duplicates, s.orderViolations, s.misrouted, ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)].map(String);
  const rows = [head, ...Object.entries(perChannel).map(([ch, s]) => row(ch, s)), row('total', total)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')).join('\n');
}
