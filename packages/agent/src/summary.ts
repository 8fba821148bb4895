import type { ChatFn } from './llm.js';
import type { MemoryTurn } from './memory.js';

const SUMMARY_PROMPT = [
  "You keep the memory of a customer-support chat. Merge the previous summary and the turns below into one short summary for the assistant's next turns.",
  'Keep what the customer wants, details they gave (order numbers, products, preferences), what was answered, promised or done, and open questions.',
  'Drop greetings and small talk. Write in the language of the conversation, as plain sentences, at most {max} characters.',
].join(' ');

/**
 * Folds turns that leave the memory window into the running summary with one LLM call.
 * Rejects (LlmUnavailableError) when the model cannot be reached; the caller then drops the turns.
 */
export async function summarizeTurns(opts: {
  chat: ChatFn;
  model: string;
  previous: string | undefined;
  turns: MemoryTurn[];
  maxChars: number;
  deadline: number;
}): Promise<string> {
  const transcript = opts.turns.map((t) => `Customer: ${t.user}${t.assistant ? `\nAssistant: ${t.assistant}` : ''}`).join('\n\n');
  const res = await opts.chat(
    {
      model: opts.model,
      messages: [
        { role: 'system', content: SUMMARY_PROMPT.replace('{max}', String(opts.maxChars)) },
        { role: 'user', content: `Previous summary:\n${opts.previous ?? '(none)'}\n\nTurns to add:\n${transcript}` },
      ],
      maxTokens: Math.ceil(opts.maxChars / 3),
      temperature: 0,
    },
    opts.deadline,
  );
  const text = (res.message.content ?? '').trim();
  if (!text) return opts.previous ?? '';
  return text.length > opts.maxChars ? `${text.slice(0, opts.maxChars - 1)}…` : text;
}
