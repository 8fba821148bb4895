/**
 * The retrieval evaluation over the shipped corpus on a real PostgreSQL, with floors: a change to
 * chunking, terms or ranking that loses answers fails here. Hybrid uses the fake OpenAI's lexical
 * embeddings through the real Embedder, so its floor guards the fusion plumbing, not a model.
 */
import { createLogger } from '@switchboard/core';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, startFakeOpenAI, type FakeOpenAI, type TestDatabase } from '@switchboard/testkit';
import { Embedder } from '../embeddings';
import { KnowledgeRepo } from '../knowledge.repo';
import { formatEvalReport, loadCorpus, loadQuestions, runKnowledgeEval, type EvalReport } from './eval';

const log = createLogger({ service: 'kb-eval-test', silent: true });
let db: TestDatabase;
let store: Store;
let fake: FakeOpenAI;
let report: EvalReport;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore({ url: db.url, log, poolMax: 3 });
  fake = await startFakeOpenAI();
  const embedder = new Embedder(store.db, { apiKey: 'sk-fake', baseURL: fake.url, model: 'fake-embedding', dimensions: 256 });
  report = await runKnowledgeEval({ repo: new KnowledgeRepo(store.db, store.vector.mode), embed: (t) => embedder.embed(t), embeddings: 'fake (lexical)' });
  process.stdout.write(`${formatEvalReport(report)}\n`);
}, 120_000); // about 8 s on a quiet machine; far more on a loaded CI runner
afterAll(async () => {
  await fake?.close();
  await store?.close();
  await db?.drop();
});

test('the question set is the one the issue asks for: 60+ questions, EN and ZH, every kind, 10+ without an answer', async () => {
  const corpus = await loadCorpus();
  const questions = await loadQuestions(undefined, corpus);
  expect(corpus.length).toBeGreaterThanOrEqual(12);
  expect(questions.length).toBeGreaterThanOrEqual(60);
  expect(questions.filter((q) => !q.doc).length).toBeGreaterThanOrEqual(10);
  for (const kind of ['direct', 'paraphrase', 'followup', 'mixed'] as const) expect(questions.filter((q) => q.kind === kind && q.lang === 'en').length + questions.filter((q) => q.kind === kind && q.lang === 'zh').length).toBeGreaterThan(2);
  // every label is real: the phrase is in its document
  for (const q of questions.filter((x) => x.doc)) expect(corpus.find((d) => d.file === q.doc)!.text.toLowerCase()).toContain(q.phrase!.toLowerCase());
});

test('full text keeps its measured floors (EN and ZH)', () => {
  const ft = report.modes.find((m) => m.mode === 'full-text')!;
  expect(ft.all.recallAt5).toBeGreaterThanOrEqual(FLOORS.fullText.all5);
  expect(ft.all.recallAt1).toBeGreaterThanOrEqual(FLOORS.fullText.all1);
  expect(ft.en.recallAt5).toBeGreaterThanOrEqual(FLOORS.fullText.en5);
  expect(ft.zh.recallAt5).toBeGreaterThanOrEqual(FLOORS.fullText.zh5);
  expect(ft.all.mrr).toBeGreaterThanOrEqual(FLOORS.fullText.mrr);
});

test('hybrid (fake lexical embeddings) is no worse than full text at 5 and keeps its floor', () => {
  const ft = report.modes.find((m) => m.mode === 'full-text')!;
  const hy = report.modes.find((m) => m.mode === 'hybrid')!;
  expect(hy.all.recallAt5).toBeGreaterThanOrEqual(FLOORS.hybrid.all5);
  expect(hy.all.recallAt5).toBeGreaterThanOrEqual(ft.all.recallAt5 - 0.05);
  expect(hy.all.mrr).toBeGreaterThanOrEqual(FLOORS.hybrid.mrr);
});

test('"no answer" detection keeps its floors', () => {
  for (const m of report.modes) {
    expect(m.noAnswer.precision).toBeGreaterThanOrEqual(FLOORS.noAnswer.precision);
    expect(m.noAnswer.recall).toBeGreaterThanOrEqual(FLOORS.noAnswer.recall);
  }
});

/**
 * Measured values (2026-12-03: full text r@1 55.6 %, r@5 77.8 % (EN 76.3, ZH 80.0), MRR 0.651;
 * hybrid r@5 81.0 %, MRR 0.614; no answer precision 61.5-66.7 %, recall 66.7 %) minus a margin of
 * about three questions (one unanswerable question for the no-answer figures).
 */
const FLOORS = {
  fullText: { all1: 0.5, all5: 0.72, en5: 0.7, zh5: 0.72, mrr: 0.6 },
  hybrid: { all5: 0.75, mrr: 0.55 },
  noAnswer: { precision: 0.55, recall: 0.58 },
};
