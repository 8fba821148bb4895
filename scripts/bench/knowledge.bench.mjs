// Knowledge base figures for `pnpm bench`: ingestion throughput (chunks/s through
// KnowledgeRepo.replaceChunks: tsvector terms, embeddings, one transaction per 500-chunk document)
// beside a bare insert of the same rows into an unindexed table, and search latency p50/p95 (full
// text beside the same questions with every match ranked, i.e. without the candidate bound of
// fulltext-candidates.ts, and a `select 1` round trip; hybrid with the fake's 256-dimension
// embeddings beside full text), at growing sizes. Synthetic chunks are made from the vocabulary of
// the shipped eval corpus (EN and ZH), on a database of its own on TEST_DATABASE_URL / DATABASE_URL /
// 127.0.0.1:5432, dropped afterwards.
//   node scripts/bench/knowledge.bench.mjs [--sizes 10000,100000] [--queries 50]
// As a module: `runKnowledgeBench({ sizes, queries })` → rows per size.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { testDatabaseFromDatabaseUrl } from '../lib/bench-db.mjs';

const require = createRequire(import.meta.url);
const { createLogger } = require('@switchboard/core');
const { openStore, sql, searchTerms } = require('@switchboard/store');
const { createTestDatabase, fakeEmbedding } = require('@switchboard/testkit');
const { KnowledgeRepo, chunkDocument } = require('@switchboard/knowledge');
const { loadCorpus, loadQuestions } = require('@switchboard/knowledge/eval');

const DIMS = 256;
const PER_DOC = 500;
const sha = (s) => createHash('sha256').update(s).digest('hex');

/** A deterministic pseudo-random source (mulberry32), so every run ingests the same text. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function timed(n, fn) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return { p50: pct(times, 50), p95: pct(times, 95) };
}

/** Runs the knowledge bench; `sizes` ascending (chunks in the base when measured). */
export async function runKnowledgeBench({ sizes = [10_000], queries = 50, log = undefined } = {}) {
  testDatabaseFromDatabaseUrl();
  const corpus = await loadCorpus();
  const questions = (await loadQuestions()).map((q) => q.q);
  const en = [];
  const zh = [];
  for (const doc of corpus) for (const c of chunkDocument(doc.text)) for (const t of searchTerms(c.text)) (/\p{Script=Han}/u.test(t) ? (t.length === 1 ? zh : null) : en)?.push(t);
  const rnd = random(15);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const chunkText = () => (rnd() < 0.7 ? Array.from({ length: 60 + Math.floor(rnd() * 80) }, () => pick(en)).join(' ') : Array.from({ length: 150 + Math.floor(rnd() * 150) }, () => pick(zh)).join(''));

  const db = await createTestDatabase('sb_kbbench');
  const store = await openStore({ url: db.url, log: createLogger({ service: 'kb-bench', silent: true }), poolMax: 3 });
  const rows = [];
  try {
    const repo = new KnowledgeRepo(store.db, store.vector.mode);
    await sql`create table bench_plain (id bigserial primary key, heading text, text text, embedding double precision[])`.execute(store.db);
    let have = 0;
    for (const size of sizes) {
      let repoMs = 0;
      let plainMs = 0;
      const added = size - have;
      while (have < size) {
        const n = Math.min(PER_DOC, size - have);
        const chunks = Array.from({ length: n }, (_, i) => {
          const text = chunkText();
          return { heading: `Section ${(have + i) % 97}`, text, contentHash: sha(text), embedding: fakeEmbedding(text, DIMS) };
        });
        const id = await repo.createDocument({ title: `Synthetic ${have}`, sourceKind: 'text' });
        let t = performance.now();
        await repo.replaceChunks(id, sha(id), chunks);
        repoMs += performance.now() - t;
        t = performance.now();
        for (let i = 0; i < chunks.length; i += 200) {
          // a table of the bench's own, outside the store's typed schema
          await /** @type {any} */ (store.db).insertInto('bench_plain').values(chunks.slice(i, i + 200).map((c) => ({ heading: c.heading, text: c.text, embedding: c.embedding }))).execute();
        }
        plainMs += performance.now() - t;
        have += n;
      }
      await sql`analyze kb_chunk`.execute(store.db);
      log?.(`knowledge: ${have} chunks, ${queries} queries each way`);
      const q = (i) => questions[i % questions.length];
      await timed(20, (i) => repo.search({ query: q(i), k: 5 }));
      const base = await timed(queries, () => sql`select 1`.execute(store.db));
      const fts = await timed(queries, (i) => repo.search({ query: q(i), k: 5 }));
      // the same questions with every match ranked (the ranking before the candidate bound)
      const unbounded = new KnowledgeRepo(store.db, store.vector.mode, { rankBudget: Infinity });
      const ftsAll = await timed(queries, (i) => unbounded.search({ query: q(i), k: 5 }));
      const hybrid = await timed(queries, (i) => repo.search({ query: q(i), k: 5, embedding: fakeEmbedding(q(i), DIMS) }));
      rows.push({ chunks: have, vectorMode: store.vector.mode, ingestChunksPerSec: (1000 * added) / repoMs, plainInsertRowsPerSec: (1000 * added) / plainMs, selectOne: base, fullText: fts, fullTextAllMatches: ftsAll, hybrid });
    }
  } finally {
    await store.close();
    await db.drop();
  }
  return rows;
}

/** Table rows for `pnpm bench` (measure, gateway, baseline, note). */
export function knowledgeBenchRows(results) {
  const f = (n, d = 1) => n.toFixed(d);
  return results.flatMap((r) => {
    const k = r.chunks >= 1000 ? `${r.chunks / 1000}k` : String(r.chunks);
    return [
      [`kb ingest chunks/s (${k})`, f(r.ingestChunksPerSec, 0), f(r.plainInsertRowsPerSec, 0), 'replaceChunks (terms + 256-d vectors) vs bare insert, same rows'],
      [`kb full-text p50 / p95 ms (${k})`, `${f(r.fullText.p50)} / ${f(r.fullText.p95)}`, `${f(r.fullTextAllMatches.p50)} / ${f(r.fullTextAllMatches.p95)}`, `bounded candidate ranking vs every match ranked; select 1 round trip ${f(r.selectOne.p50, 2)} / ${f(r.selectOne.p95, 2)}`],
      [`kb hybrid p50 / p95 ms (${k})`, `${f(r.hybrid.p50)} / ${f(r.hybrid.p95)}`, `${f(r.fullText.p50)} / ${f(r.fullText.p95)}`, `vs full text; vector mode ${r.vectorMode}`],
    ];
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const sizes = arg('--sizes', '10000').split(',').map(Number);
  const results = await runKnowledgeBench({ sizes, queries: Number(arg('--queries', '50')), log: (s) => process.stderr.write(`[kb-bench] ${s}\n`) });
  for (const row of knowledgeBenchRows(results)) console.log(row.join(' | '));
}
