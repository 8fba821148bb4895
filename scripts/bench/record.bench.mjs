// Phase 6 of `pnpm bench`: the cost of the record. The same WhatsApp traffic end to end (built
// ingress and worker processes, fake Graph and an instant fake LLM) with the record off (no store)
// and on (DATABASE_URL: a database of its own on TEST_DATABASE_URL / DATABASE_URL / 127.0.0.1:5432,
// dropped afterwards), in the same run; and how long after the last reply the record is complete.
import { createRequire } from 'node:module';
import { testDatabaseFromDatabaseUrl } from '../lib/bench-db.mjs';

const require = createRequire(import.meta.url);
const { createLogger } = require('@switchboard/core');
const { openStore, sql } = require('@switchboard/store');
const { createTestDatabase } = require('@switchboard/testkit');

const pct = (arr, p) => arr[Math.min(arr.length - 1, Math.floor((p / 100) * arr.length))];

/**
 * @param {object} o
 * @param {number} o.messages messages per mode
 * @param {(run: string, env: Record<string, string>, tag: string) => Promise<{ ingressUrl: string, statsUrl: string, stop: () => Promise<void> }>} o.start starts fakes, ingress and worker
 * @param {(url: string, items: any[], concurrency: number) => Promise<{ sentAt: number[] }>} o.load
 * @param {(i: number, run: number) => { to: string }} o.delivery
 * @param {(s: string) => void} o.log
 */
export async function runRecordBench(o) {
  testDatabaseFromDatabaseUrl();
  const db = await createTestDatabase('sb_bench_record');
  const store = await openStore({ url: db.url, log: createLogger({ service: 'bench-record', silent: true }), poolMax: 2 });
  const out = {};
  try {
    for (const mode of ['off', 'on']) {
      const run = Date.now();
      const env = mode === 'on' ? { DATABASE_URL: db.url } : {};
      const procs = await o.start(String(run), env, mode);
      try {
        const items = Array.from({ length: o.messages }, (_, i) => o.delivery(i, run));
        o.log(`phase 6: ${o.messages} messages end to end, record ${mode}`);
        const e = await o.load(`${procs.ingressUrl}/webhooks/whatsapp`, items, 32);
        const deadline = Date.now() + 180_000;
        /** @type {{ times: Array<{ to: string, at: number }> }} */
        let st = { times: [] };
        while (Date.now() < deadline) {
          st = /** @type {{ times: Array<{ to: string, at: number }> }} */ (await (await fetch(procs.statsUrl)).json());
          if (st.times.length >= o.messages) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        const sendAt = new Map(st.times.map((t) => [t.to, t.at]));
        const lat = items.map((it, i) => (sendAt.has(it.to) ? sendAt.get(it.to) - e.sentAt[i] : undefined)).filter((x) => x !== undefined).sort((a, b) => a - b);
        const lastSend = Math.max(...st.times.map((t) => t.at));
        const rate = st.times.length / ((lastSend - Math.min(...e.sentAt)) / 1000);
        const result = { rate, p50: pct(lat, 50), p99: pct(lat, 99), replied: st.times.length };
        if (mode === 'on') {
          // every customer message and every reply part recorded: 2 rows per message
          const want = 2 * o.messages;
          let rows = 0;
          while (Date.now() < deadline + 120_000) {
            rows = Number(/** @type {{ n: number }} */ ((await sql`select count(*)::int as n from rec_message`.execute(store.db)).rows[0]).n);
            if (rows >= want) break;
            await new Promise((r) => setTimeout(r, 100));
          }
          result.rows = rows;
          result.lagMs = Date.now() - lastSend;
        }
        out[mode] = result;
      } finally {
        await procs.stop();
      }
    }
  } finally {
    await store.close();
    await db.drop();
  }
  return out;
}

/** Table rows of {@link runRecordBench}. */
export function recordBenchRows(r, fmt) {
  return [
    ['end-to-end messages/s, record on (off = baseline)', fmt(r.on.rate), fmt(r.off.rate), `${fmt((100 * r.on.rate) / r.off.rate)} %; ${r.on.replied}/${r.off.replied} replied`],
    ['gateway latency p50 / p99 ms, record on (off)', `${fmt(r.on.p50)} / ${fmt(r.on.p99)}`, `${fmt(r.off.p50)} / ${fmt(r.off.p99)}`, `record complete ${fmt(r.on.lagMs)} ms after the last reply (${r.on.rows} rows)`],
  ];
}
