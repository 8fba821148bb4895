// `pnpm kb:eval [-- --json]`: the knowledge retrieval evaluation (packages/knowledge/eval: a sample
// shop corpus in English and Chinese and labelled questions). Creates its own database on the
// PostgreSQL of TEST_DATABASE_URL / DATABASE_URL / 127.0.0.1:5432 (dropped afterwards), ingests the
// corpus through the built knowledge package and prints recall@1, recall@5 and MRR for full text and
// hybrid, EN/ZH, and "no answer" precision/recall. Embeddings: the OpenAI-compatible endpoint when
// OPENAI_API_KEY is set (OPENAI_BASE_URL, EMBEDDING_MODEL, EMBEDDING_DIMENSIONS), else the fake
// OpenAI's deterministic embeddings, started here in-process: those are lexical, not a model.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createLogger } = require('@switchboard/core');
const { openStore } = require('@switchboard/store');
const { createTestDatabase, startFakeOpenAI } = require('@switchboard/testkit');
const { Embedder, KnowledgeRepo } = require('@switchboard/knowledge');
const { formatEvalReport, runKnowledgeEval } = require('@switchboard/knowledge/eval');

const json = process.argv.includes('--json');
const say = (s) => process.stderr.write(`[kb:eval] ${s}\n`);

async function main() {
  if (!process.env.TEST_DATABASE_URL && process.env.DATABASE_URL) {
    // the server of DATABASE_URL, its maintenance database: the eval makes a database of its own there
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = '/postgres';
    process.env.TEST_DATABASE_URL = url.toString();
  }
  const db = await createTestDatabase('sb_kbeval');
  const log = createLogger({ service: 'kb-eval', silent: true });
  let store;
  let fake;
  try {
    store = await openStore({ url: db.url, log, poolMax: 3 });
    const real = Boolean(process.env.OPENAI_API_KEY);
    if (!real) fake = await startFakeOpenAI();
    const model = real ? (process.env.EMBEDDING_MODEL ?? 'text-embedding-3-small') : 'fake-embedding';
    const dimensions = Number(process.env.EMBEDDING_DIMENSIONS ?? (real ? 1536 : 256));
    const embedder = new Embedder(store.db, {
      apiKey: real ? process.env.OPENAI_API_KEY : 'sk-fake',
      baseURL: real ? process.env.OPENAI_BASE_URL : fake.url,
      model,
      dimensions,
    });
    const embeddings = real
      ? `${model} (${dimensions} dimensions) at ${process.env.OPENAI_BASE_URL ?? 'api.openai.com'}`
      : `NONE REAL: the fake OpenAI's deterministic embeddings (${dimensions} dimensions) are lexical (hashed words and CJK bigrams), so the hybrid figures measure the fusion plumbing, not a real model; set OPENAI_API_KEY for that`;
    say(`database ${db.name} (vector mode ${store.vector.mode}); embeddings: ${real ? model : 'fake (lexical)'}`);
    const report = await runKnowledgeEval({ repo: new KnowledgeRepo(store.db, store.vector.mode), embed: (texts) => embedder.embed(texts), embeddings });
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatEvalReport(report)}\n`);
  } finally {
    await fake?.close();
    await store?.close();
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
