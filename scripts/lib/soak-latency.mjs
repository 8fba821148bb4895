// Where the soak's first-reply latency goes (scripts/soak.mjs): reads, after the drain, the completed
// turn and outbound jobs and the outbound ledger from the soak's private Redis, links every answered
// message to the reply that first answered it (the fake model echoes the probes `#c<conv>:<k>`, so
// the outbound job's text names its messages) and splits its latency into phases, with the causes
// that delayed it.
import { probesIn } from './soak-payloads.mjs';

const JOB_FIELDS = ['data', 'timestamp', 'processedOn', 'finishedOn', 'stc', 'failedReason', 'ats'];
const num = (v) => (v === null || v === undefined || v === '' ? undefined : Number(v));
const jobOf = (values) => {
  const [data, timestamp, processedOn, finishedOn, stc, failedReason, ats] = values ?? [];
  if (!timestamp) return undefined;
  // attemptsMade also counts re-delays (order wait, debounce), so a failed attempt shows as a failedReason
  return { data: data ? JSON.parse(data) : {}, timestamp: num(timestamp), processedOn: num(processedOn), finishedOn: num(finishedOn), stalled: num(stc) ?? 0, failedAttempt: Boolean(failedReason), starts: num(ats) ?? 0 };
};

/**
 * Reads every completed outbound job (and its turn job and ledger hash) of the soak's queues.
 * @param {import('ioredis').Redis} q
 * @param {string} prefix
 * @param {string[]} outQueues
 * @param {(outboundId: string) => string} ledgerKey
 * @returns {Promise<Map<string, {queue: string, out: any, turn: any, prevTurn: any, ledger: Record<string, string>}>>} outbound id → jobs
 */
export async function readReplyJobs(q, prefix, outQueues, ledgerKey) {
  const out = new Map();
  for (const queue of outQueues) {
    const ids = await q.zrange(`${prefix}:${queue}:completed`, 0, -1);
    for (let i = 0; i < ids.length; i += 300) {
      const batch = ids.slice(i, i + 300);
      const pipe = q.pipeline();
      for (const id of batch) {
        const m = /^out-(.+)-(\d+)$/.exec(id);
        pipe.hmget(`${prefix}:${queue}:${id}`, ...JOB_FIELDS);
        pipe.hgetall(ledgerKey(id));
        pipe.hmget(m ? `${prefix}:turn:turn-${m[1]}-${m[2]}` : `${prefix}:turn:-`, ...JOB_FIELDS);
        pipe.hmget(m ? `${prefix}:turn:turn-${m[1]}-${Number(m[2]) - 1}` : `${prefix}:turn:-`, ...JOB_FIELDS);
      }
      const res = await pipe.exec();
      batch.forEach((id, j) => {
        const [o, l, t, pt] = res.slice(j * 4, j * 4 + 4).map(([, v]) => v);
        const job = jobOf(o);
        if (job) out.set(id, { queue, out: job, ledger: l ?? {}, turn: jobOf(t), prevTurn: jobOf(pt) });
      });
    }
  }
  return out;
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);

/** The causes a message's reply was delayed by (several can apply). */
export const CAUSES = {
  turnStalled: 'turn job recovered after a stall (its worker was killed)',
  replyStalled: 'reply job recovered after a stall',
  sendRetried: 'a send attempt failed (provider error, timeout, lost response) and was retried',
  reconcileWaited: 'a part\'s outcome was unknown and it was reconciled (ledger r<part> / u<part>)',
  resent: 'an unconfirmed part was sent again after the reconciliation wait (ledger n<part>)',
  turnLate: 'its turn started > 5 s after the message was accepted, without a stall or an earlier turn to wait for (queue backlog, CPU)',
  behindTurn: 'waited for the conversation\'s earlier turn (it finished > 1 s after the message was accepted)',
  behindReply: 'waited for the conversation\'s earlier reply (it finished > 1 s after this reply was enqueued)',
};

/**
 * Per answered message: its latency, phases (accepted → turn started, the turn, reply enqueued →
 * accepted by the provider) and causes; then a summary over the slow ones.
 * @param {object} o
 * @param o.messages Map `c:k` → {acceptedAt}
 * @param o.firstReplyAt Map `c:k` → when its first reply was accepted by the provider
 * @param o.jobs from {@link readReplyJobs}
 * @param [o.slowMs] latency from which a message counts as slow
 * @param [o.killTimes] worker kill -9 times (ms), for the stalled jobs' recovery delay
 */
export function latencyBreakdown({ messages, firstReplyAt, jobs, slowMs = 15_000, killTimes = [] }) {
  const byKey = new Map();
  for (const [id, j] of jobs) {
    const text = j.out.data?.reply?.text ?? '';
    for (const [c, k] of probesIn(text)) {
      const key = `${c}:${k}`;
      // the earliest finished reply naming the message is its first reply (duplicates fail the run anyway)
      const seen = byKey.get(key);
      if (!seen || (j.out.finishedOn ?? Infinity) < (seen.j.out.finishedOn ?? Infinity)) byKey.set(key, { id, j });
    }
  }
  const rows = [];
  for (const [key, at] of firstReplyAt) {
    const m = messages.get(key);
    if (!m || m.acceptedAt === undefined) continue;
    const latency = Math.max(0, at - m.acceptedAt);
    const link = byKey.get(key);
    const row = { key, latency, linked: Boolean(link), causes: [] };
    if (link) {
      const { j } = link;
      row.replyId = link.id;
      const turnStart = j.turn?.processedOn;
      row.beforeTurn = turnStart !== undefined ? Math.max(0, turnStart - m.acceptedAt) : undefined;
      row.turn = turnStart !== undefined ? Math.max(0, j.out.timestamp - turnStart) : undefined;
      row.reply = Math.max(0, at - Math.max(j.out.timestamp, m.acceptedAt));
      if ((j.turn?.stalled ?? 0) > 0) row.causes.push('turnStalled');
      if (j.out.stalled > 0) row.causes.push('replyStalled');
      if (j.out.failedAttempt) row.causes.push('sendRetried');
      if (Object.keys(j.ledger).some((f) => /^[ru]\d+$/.test(f))) row.causes.push('reconcileWaited');
      if (Object.keys(j.ledger).some((f) => /^n\d+$/.test(f))) row.causes.push('resent');
      if (j.prevTurn?.finishedOn !== undefined && j.prevTurn.finishedOn > m.acceptedAt + 1000) row.causes.push('behindTurn');
      if (row.beforeTurn !== undefined && row.beforeTurn > 5000 && !row.causes.includes('turnStalled') && !row.causes.includes('behindTurn')) row.causes.push('turnLate');
      const after = j.out.data?.after ? jobs.get(j.out.data.after) : undefined;
      if (after?.out.finishedOn !== undefined && after.out.finishedOn > j.out.timestamp + 1000) row.causes.push('behindReply');
    }
    rows.push(row);
  }
  rows.sort((a, b) => a.latency - b.latency);
  const summarise = (subset) => {
    const counts = Object.fromEntries(Object.keys(CAUSES).map((c) => [c, 0]));
    let none = 0;
    let unlinked = 0;
    for (const r of subset) {
      if (!r.linked) unlinked += 1;
      else if (r.causes.length === 0) none += 1;
      for (const c of r.causes) counts[c] += 1;
    }
    const phase = (name) => {
      const v = subset.map((r) => r[name]).filter((x) => x !== undefined).sort((a, b) => a - b);
      return { p50: pct(v, 50), max: v.at(-1) ?? null };
    };
    return { messages: subset.length, causes: counts, noCause: none, unlinked, phases: { beforeTurn: phase('beforeTurn'), turn: phase('turn'), reply: phase('reply') } };
  };
  // how long a job held by a killed worker waited before it ran again: from the last kill -9
  // before its (last) start to that start (turn and reply jobs recovered after a stall)
  const kills = [...killTimes].sort((a, b) => a - b);
  const recovery = [];
  const seenTurns = new Set();
  for (const [id, j] of jobs) {
    for (const [key, job] of [[`out ${id}`, j.out], [`turn ${id}`, j.turn]]) {
      if (!job || job.stalled <= 0 || job.processedOn === undefined || seenTurns.has(key)) continue;
      seenTurns.add(key);
      const kill = kills.filter((k) => k < job.processedOn).at(-1);
      if (kill !== undefined) recovery.push(job.processedOn - kill);
    }
  }
  recovery.sort((a, b) => a - b);
  const p99At = rows.length ? rows[Math.min(rows.length - 1, Math.floor(0.99 * rows.length))].latency : 0;
  // the slowest 1 %'s replies, each as a timeline from the reply's enqueueing (s): its ledger marks
  // (t = the last attempt's write-ahead mark, u = its request ended unknown, r = first retry that
  // found it unconfirmed, n = resent after the wait, a = acknowledged) and the worker kills meanwhile
  const timelines = [];
  for (const id of new Set(rows.filter((r) => r.latency >= p99At && r.replyId).map((r) => r.replyId))) {
    const j = jobs.get(id);
    if (!j) continue;
    const t0 = j.out.timestamp;
    const rel = (ms) => `${((ms - t0) / 1000).toFixed(1)}`;
    const marks = Object.entries(j.ledger)
      .filter(([f, v]) => /^[turn]\d+$/.test(f) && /^\d{12,}$/.test(String(v)))
      .map(([f, v]) => `${f}@${rel(Number(v))}`);
    const acks = Object.keys(j.ledger).filter((f) => /^a\d+$/.test(f));
    const killsIn = kills.filter((k) => k >= t0 - 1000 && k <= (j.out.finishedOn ?? t0));
    timelines.push(
      `${id}: started@${j.out.processedOn !== undefined ? rel(j.out.processedOn) : '-'} finished@${j.out.finishedOn !== undefined ? rel(j.out.finishedOn) : '-'} stalled ${j.out.stalled} | ${marks.join(' ')}${acks.length ? ` ${acks.join(' ')}` : ''} | kills@${killsIn.map(rel).join(',') || '-'}`,
    );
  }
  return {
    top1Timelines: timelines,
    answered: rows.length,
    slowMs,
    all: summarise(rows),
    slow: summarise(rows.filter((r) => r.latency >= slowMs)),
    top1: summarise(rows.filter((r) => r.latency >= p99At)),
    stallRecovery: { jobs: recovery.length, p50: pct(recovery, 50), p95: pct(recovery, 95), max: recovery.at(-1) ?? null },
  };
}

/** Text lines of the breakdown for the soak's output. */
export function formatBreakdown(b) {
  const s = (ms) => (ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  const block = (title, x) => [
    `${title}: ${x.messages} messages${x.unlinked ? ` (${x.unlinked} not linked to a reply job)` : ''}; phases p50/max: accepted→turn started ${s(x.phases.beforeTurn.p50)}/${s(x.phases.beforeTurn.max)}, turn ${s(x.phases.turn.p50)}/${s(x.phases.turn.max)}, reply enqueued→provider ${s(x.phases.reply.p50)}/${s(x.phases.reply.max)}`,
    ...Object.entries(CAUSES).map(([c, label]) => `  ${String(x.causes[c]).padStart(5)}  ${label}`),
    `  ${String(x.noCause).padStart(5)}  none of these (queueing, debounce, LLM, Redis restart)`,
  ];
  const r = b.stallRecovery;
  const recoveryLine = r ? [`stalled jobs re-run: ${r.jobs} turn/reply jobs; from the last worker kill -9 before the re-run to the re-run p50 ${s(r.p50)}, p95 ${s(r.p95)}, max ${s(r.max)}`] : [];
  const timelines = b.top1Timelines?.length ? ['slowest 1 %: their replies (s from enqueued; t mark, u ended unknown, r first retry found it, n resent, a acknowledged)', ...b.top1Timelines.map((t) => `  ${t}`)] : [];
  return [...recoveryLine, ...block('latency breakdown, all answered messages', b.all), ...block(`slow (≥ ${b.slowMs / 1000} s)`, b.slow), ...block('slowest 1 % (≥ p99)', b.top1), ...timelines];
}
