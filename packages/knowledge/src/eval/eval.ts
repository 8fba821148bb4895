import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { chunkDocument } from '../chunk.js';
import { extractDocument } from '../extract.js';
import type { KnowledgeHit, KnowledgeRepo } from '../knowledge.repo.js';
import { queryTerms, searchTerms } from '@switchboard/store';

/**
 * The retrieval evaluation (`pnpm kb:eval`, and the floors of eval.int.test.ts): a shipped sample
 * corpus of a fictional shop in English and Chinese and a labelled question set, ingested through the
 * real chunker, extractor and repository, then searched full text only and hybrid. A question counts
 * as found at rank r when the r-th hit is a chunk of the labelled document that contains the labelled
 * phrase.
 */

/** The shipped corpus and questions (`packages/knowledge/eval`), from `src/eval` or `dist/eval`. */
export const EVAL_DIR = join(__dirname, '..', '..', 'eval');

/** One labelled question. */
export interface EvalQuestion {
  readonly q: string;
  readonly lang: 'en' | 'zh';
  readonly kind: 'direct' | 'paraphrase' | 'followup' | 'mixed' | 'none';
  /** File name in the corpus of the document that answers it; absent = no answer in the corpus. */
  readonly doc?: string;
  /** A phrase the right chunk contains (case-insensitive). */
  readonly phrase?: string;
}

/** One document of the corpus, as read. */
export interface CorpusDocument {
  readonly file: string;
  readonly title: string;
  readonly text: string;
}

/** Embeds texts (unit-length vectors, in order). */
export type EmbedFn = (texts: readonly string[]) => Promise<number[][]>;

/** Figures of one group of answerable questions. */
export interface RecallFigures {
  readonly n: number;
  readonly recallAt1: number;
  readonly recallAt5: number;
  readonly mrr: number;
}

/** "No answer" detection against the questions labelled without one. */
export interface NoAnswerFigures {
  /** Of the questions the rule called unanswerable, the share that are. */
  readonly precision: number;
  /** Of the unanswerable questions, the share the rule caught. */
  readonly recall: number;
  readonly flagged: number;
  readonly unanswerable: number;
}

/** Results of one search mode. */
export interface ModeReport {
  readonly mode: 'full-text' | 'hybrid';
  readonly all: RecallFigures;
  readonly en: RecallFigures;
  readonly zh: RecallFigures;
  readonly noAnswer: NoAnswerFigures;
  /** Answerable questions not found in the top 5. */
  readonly misses: readonly string[];
}

/** The whole evaluation. */
export interface EvalReport {
  readonly documents: number;
  readonly chunks: number;
  readonly questions: number;
  readonly answerable: number;
  /** What the embeddings are (the fake's are lexical: hybrid then measures the plumbing). */
  readonly embeddings: string;
  readonly noAnswerRule: string;
  readonly modes: readonly ModeReport[];
}

/**
 * The "no answer" rule: the best hit holds fewer than this share of the question's distinctive terms
 * (words and CJK bigrams; single CJK characters are too common to count), or there is no hit.
 * Full-text search ORs the terms, so a hit on one common word says little: measured on the shipped
 * set, 10 % (in practice: not one term shared) separates best; higher thresholds flag many
 * answerable paraphrases.
 */
export const NO_ANSWER_COVERAGE = 0.1;
export const NO_ANSWER_RULE = `no hit, or the top hit contains < ${NO_ANSWER_COVERAGE * 100} % of the question's terms (words and CJK bigrams; in practice none of them)`;

const CJK_CHAR = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]$/u;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Reads the corpus: Markdown as is, HTML through {@link extractDocument} (Readability). */
export async function loadCorpus(dir = join(EVAL_DIR, 'corpus')): Promise<CorpusDocument[]> {
  const files = (await readdir(dir)).filter((f) => ['.md', '.html'].includes(extname(f))).sort();
  const docs: CorpusDocument[] = [];
  for (const file of files) {
    const bytes = await readFile(join(dir, file));
    const extracted = await extractDocument(bytes, extname(file) === '.html' ? 'html' : 'markdown', { maxChars: 200_000, timeoutMs: 10_000 });
    const heading = /^#\s+(.+)$/m.exec(extracted.text)?.[1];
    docs.push({ file, title: extracted.title ?? heading ?? file, text: extracted.text });
  }
  return docs;
}

/** Reads and checks the question set (every labelled document must be in the corpus). */
export async function loadQuestions(file = join(EVAL_DIR, 'questions.yaml'), corpus?: readonly CorpusDocument[]): Promise<EvalQuestion[]> {
  const raw: unknown = parseYaml(await readFile(file, 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${file}: expected a list of questions`);
  const files = corpus ? new Set(corpus.map((d) => d.file)) : undefined;
  return raw.map((item: unknown, i) => {
    const r = item as Partial<Record<keyof EvalQuestion, unknown>>;
    const where = `${file}: question ${i + 1}`;
    if (typeof r.q !== 'string' || !r.q.trim()) throw new Error(`${where}: q must be a text`);
    if (r.lang !== 'en' && r.lang !== 'zh') throw new Error(`${where}: lang must be en or zh`);
    if (!['direct', 'paraphrase', 'followup', 'mixed', 'none'].includes(String(r.kind))) throw new Error(`${where}: unknown kind ${String(r.kind)}`);
    if ((r.kind === 'none') !== (r.doc === undefined)) throw new Error(`${where}: kind none and a missing doc go together`);
    if (r.doc !== undefined) {
      if (typeof r.doc !== 'string' || typeof r.phrase !== 'string' || !r.phrase) throw new Error(`${where}: doc and phrase must be texts`);
      if (files && !files.has(r.doc)) throw new Error(`${where}: ${r.doc} is not in the corpus`);
    }
    return { q: r.q, lang: r.lang, kind: r.kind as EvalQuestion['kind'], ...(typeof r.doc === 'string' ? { doc: r.doc, phrase: r.phrase as string } : {}) };
  });
}

/** Ingests the corpus (chunkDocument + replaceChunks); returns document ids by file and the chunk count. */
export async function ingestCorpus(repo: KnowledgeRepo, corpus: readonly CorpusDocument[], embed?: EmbedFn): Promise<{ ids: Map<string, string>; chunks: number }> {
  const ids = new Map<string, string>();
  let total = 0;
  for (const doc of corpus) {
    const id = await repo.createDocument({ title: doc.title, sourceKind: 'file', filename: doc.file });
    const chunks = chunkDocument(doc.text);
    const vectors = embed ? await embed(chunks.map((c) => `${doc.title}\n${c.heading}\n${c.text}`)) : undefined;
    await repo.replaceChunks(
      id,
      sha(doc.text),
      chunks.map((c, i) => ({ heading: c.heading, text: c.text, contentHash: sha(c.text), embedding: vectors?.[i] })),
    );
    ids.set(doc.file, id);
    total += chunks.length;
  }
  return { ids, chunks: total };
}

/** Whether the rule says "no answer" for these hits. */
export function looksUnanswered(question: string, hits: readonly KnowledgeHit[]): boolean {
  return coverage(question, hits) < NO_ANSWER_COVERAGE;
}

/** The share of the question's terms (words, CJK bigrams) in the best hit; 0 without hits, 1 without such terms. */
export function coverage(question: string, hits: readonly KnowledgeHit[]): number {
  const top = hits[0];
  if (!top) return 0;
  const terms = queryTerms(question).filter((t) => !CJK_CHAR.test(t));
  if (terms.length === 0) return 1;
  const have = new Set(searchTerms(`${top.title}\n${top.heading}\n${top.text}`, { keepStopWords: true }));
  return terms.filter((t) => have.has(t)).length / terms.length;
}

function figures(ranks: readonly (number | undefined)[]): RecallFigures {
  const n = ranks.length;
  const share = (pred: (r: number | undefined) => boolean) => (n ? ranks.filter(pred).length / n : 0);
  return {
    n,
    recallAt1: share((r) => r === 1),
    recallAt5: share((r) => r !== undefined && r <= 5),
    mrr: n ? ranks.reduce<number>((s, r) => s + (r ? 1 / r : 0), 0) / n : 0,
  };
}

/** Searches every question in one mode and scores the hits. */
export async function evaluateMode(repo: KnowledgeRepo, questions: readonly EvalQuestion[], ids: ReadonlyMap<string, string>, embed?: EmbedFn): Promise<ModeReport> {
  const results: Array<{ q: EvalQuestion; rank: number | undefined; flagged: boolean }> = [];
  for (const q of questions) {
    const embedding = embed ? (await embed([q.q]))[0] : undefined;
    const hits = await repo.search({ query: q.q, k: 10, embedding });
    const docId = q.doc ? ids.get(q.doc) : undefined;
    const phrase = q.phrase?.toLowerCase();
    const at = docId && phrase ? hits.findIndex((h) => h.documentId === docId && `${h.heading}\n${h.text}`.toLowerCase().includes(phrase)) : -1;
    results.push({ q, rank: at >= 0 ? at + 1 : undefined, flagged: looksUnanswered(q.q, hits) });
  }
  const answerable = results.filter((r) => r.q.doc);
  const none = results.filter((r) => !r.q.doc);
  const flagged = results.filter((r) => r.flagged);
  const caught = none.filter((r) => r.flagged).length;
  return {
    mode: embed ? 'hybrid' : 'full-text',
    all: figures(answerable.map((r) => r.rank)),
    en: figures(answerable.filter((r) => r.q.lang === 'en').map((r) => r.rank)),
    zh: figures(answerable.filter((r) => r.q.lang === 'zh').map((r) => r.rank)),
    noAnswer: { precision: flagged.length ? caught / flagged.length : 0, recall: none.length ? caught / none.length : 0, flagged: flagged.length, unanswerable: none.length },
    misses: answerable.filter((r) => !r.rank || r.rank > 5).map((r) => r.q.q),
  };
}

/** Ingests the corpus into `repo` (an empty knowledge base) and evaluates full text, and hybrid when `embed` is given. */
export async function runKnowledgeEval(opts: { readonly repo: KnowledgeRepo; readonly embed?: EmbedFn | undefined; readonly embeddings: string; readonly dir?: string }): Promise<EvalReport> {
  const dir = opts.dir ?? EVAL_DIR;
  const corpus = await loadCorpus(join(dir, 'corpus'));
  const questions = await loadQuestions(join(dir, 'questions.yaml'), corpus);
  const { ids, chunks } = await ingestCorpus(opts.repo, corpus, opts.embed);
  const modes = [await evaluateMode(opts.repo, questions, ids)];
  if (opts.embed) modes.push(await evaluateMode(opts.repo, questions, ids, opts.embed));
  return { documents: corpus.length, chunks, questions: questions.length, answerable: questions.filter((q) => q.doc).length, embeddings: opts.embeddings, noAnswerRule: NO_ANSWER_RULE, modes };
}

/** The report as a Markdown table with its notes. */
export function formatEvalReport(r: EvalReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const rows: string[][] = [];
  for (const m of r.modes) {
    for (const [group, f] of [['all', m.all], ['EN', m.en], ['ZH', m.zh]] as const) {
      rows.push([m.mode, `${group} (${f.n})`, pct(f.recallAt1), pct(f.recallAt5), f.mrr.toFixed(3)]);
    }
  }
  const header = ['mode', 'questions', 'recall@1', 'recall@5', 'MRR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [
    `knowledge eval: ${r.documents} documents, ${r.chunks} chunks, ${r.questions} questions (${r.answerable} answerable, ${r.questions - r.answerable} without an answer)`,
    `embeddings: ${r.embeddings}`,
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    '',
    `"no answer" rule: ${r.noAnswerRule}`,
    ...r.modes.map((m) => `  ${m.mode}: precision ${pct(m.noAnswer.precision)}, recall ${pct(m.noAnswer.recall)} (${m.noAnswer.flagged} flagged, ${m.noAnswer.unanswerable} without an answer)`),
  ];
  for (const m of r.modes) if (m.misses.length) out.push('', `${m.mode}: not in the top 5:`, ...m.misses.map((q) => `  - ${q}`));
  return out.join('\n');
}
