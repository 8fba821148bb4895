import { ConfigError } from '@switchboard/core';

/** Price of one model in USD per 1M tokens. */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
}

/**
 * Built-in prices (USD per 1M tokens, OpenAI list prices of standard processing). A model not
 * listed costs 0 unless `LLM_PRICES` names it; a dated snapshot (`gpt-4o-2024-08-06`) is priced as
 * its family (`gpt-4o`) when it has no entry of its own.
 */
export const DEFAULT_LLM_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'o1': { input: 15, output: 60 },
  'o3': { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
};

/** Parses `LLM_PRICES` (`model=input/output,…`) over the defaults; throws ConfigError on a bad entry. */
export function parsePrices(spec: string | undefined, defaults: Readonly<Record<string, ModelPrice>> = DEFAULT_LLM_PRICES): Record<string, ModelPrice> {
  const table: Record<string, ModelPrice> = { ...defaults };
  if (!spec?.trim()) return table;
  const problems: string[] = [];
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)\s*=\s*([0-9]*\.?[0-9]+)\s*\/\s*([0-9]*\.?[0-9]+)$/.exec(item);
    if (!m?.[1] || !m[2] || !m[3]) {
      problems.push(`LLM_PRICES: "${item}" is not model=input/output (USD per 1M tokens)`);
      continue;
    }
    table[m[1]] = { input: Number(m[2]), output: Number(m[3]) };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return table;
}

/** The price of `model`: its own entry, else its family's (a trailing `-YYYY-MM-DD` dropped), else undefined. */
export function priceOf(table: Readonly<Record<string, ModelPrice>>, model: string): ModelPrice | undefined {
  return table[model] ?? table[model.replace(/-\d{4}-\d{2}-\d{2}$/, '')];
}

/** Estimated cost in USD of a turn's tokens (0 for a model without a price), rounded to 6 decimals. */
export function estimateCostUsd(table: Readonly<Record<string, ModelPrice>>, model: string | undefined, tokensIn: number, tokensOut: number): number {
  const price = model ? priceOf(table, model) : undefined;
  if (!price) return 0;
  return Math.round(((tokensIn * price.input + tokensOut * price.output) / 1_000_000) * 1e6) / 1e6;
}
