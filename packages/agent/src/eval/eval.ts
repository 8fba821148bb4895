import { ChannelId, conversationId, type ConversationRef, type InboundMessage, type MessageContent } from '@switchboard/core';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Agent, AgentOutput } from '../agent.js';

/** One scripted conversation of the eval set. */
export const EvalConversation = z.strictObject({
  name: z.string().min(1),
  /** Any registered channel; default: the first one (the style defaults of AGENT_CONFIG apply per channel). */
  channel: ChannelId.default(ChannelId.options[0]!),
  displayName: z.string().optional(),
  turns: z.array(z.string().min(1)).min(1),
});
export type EvalConversation = z.infer<typeof EvalConversation>;

/** Parses the YAML eval set; throws a readable error naming the bad entries. */
export function parseEvalSet(text: string): EvalConversation[] {
  const parsed = z.array(EvalConversation).safeParse(parse(text));
  if (!parsed.success) throw new Error(`invalid eval set:\n  - ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  - ')}`);
  return parsed.data;
}

/** `image: caption`, `voice:`, `location: name` lines become media; anything else is text. */
export function scriptedContent(line: string): MessageContent {
  const m = /^(image|voice|location):\s*(.*)$/i.exec(line);
  if (!m) return { type: 'text', text: line };
  const kind = m[1]!.toLowerCase();
  const rest = m[2]?.trim() ?? '';
  if (kind === 'image') return { type: 'image', media: rest ? { caption: rest } : {} };
  if (kind === 'voice') return { type: 'audio', voice: true, media: {} };
  return { type: 'location', latitude: 40.4168, longitude: -3.7038, ...(rest ? { name: rest } : {}) };
}

/** One answered turn of the eval. */
export interface EvalTurn {
  conversation: string;
  customer: string;
  output: AgentOutput;
}

/**
 * Plays every conversation through the agent (respond, then remember, as the worker does) and
 * returns the answers, tool calls and handoffs for review. `runId` keeps customers of separate
 * runs apart.
 */
export async function runEval(agent: Agent, conversations: EvalConversation[], runId: string): Promise<EvalTurn[]> {
  const results: EvalTurn[] = [];
  let n = 0;
  for (const [ci, conv] of conversations.entries()) {
    const ref: ConversationRef = {
      channel: conv.channel,
      account: 'eval',
      userId: `eval-${runId}-${ci}`,
      // threaded channels key conversations by thread; the same id keeps every channel's key identical
      threadId: `eval-${runId}-${ci}`,
      ...(conv.displayName ? { displayName: conv.displayName } : {}),
    };
    for (const line of conv.turns) {
      n += 1;
      const now = Date.now();
      const message: InboundMessage = {
        kind: 'message',
        eventId: `eval-${runId}-${n}`,
        providerMessageId: `eval-${runId}-${n}`,
        conversation: ref,
        sentAt: now,
        receivedAt: now,
        content: scriptedContent(line),
        author: 'customer',
      };
      const input = { conversationId: conversationId(ref), ref, messages: [message], now };
      const output = await agent.respond(input);
      await agent.remember(input, output);
      results.push({ conversation: conv.name, customer: line, output });
    }
  }
  return results;
}

/** A plain-text report of an eval run: every turn, then totals by source, handoffs and tokens. */
export function formatEval(turns: EvalTurn[]): string {
  const lines: string[] = [];
  let current = '';
  const bySource = new Map<string, number>();
  let tokensIn = 0;
  let tokensOut = 0;
  let handoffs = 0;
  for (const t of turns) {
    if (t.conversation !== current) {
      current = t.conversation;
      lines.push('', `== ${current}`);
    }
    const o = t.output;
    bySource.set(o.source, (bySource.get(o.source) ?? 0) + 1);
    tokensIn += o.usage?.inputTokens ?? 0;
    tokensOut += o.usage?.outputTokens ?? 0;
    lines.push(`customer: ${t.customer}`);
    const meta = [o.source, o.usage ? `${o.usage.model} ${o.usage.inputTokens}/${o.usage.outputTokens} tok ${o.usage.latencyMs} ms` : '', o.variant ? `variant ${o.variant}` : '', o.route ? `route ${o.route}` : '']
      .filter(Boolean)
      .join(', ');
    lines.push(`agent [${meta}]: ${o.reply ? o.reply.text.replace(/\n/g, '\n    ') : '(no reply)'}`);
    if (o.reply?.options?.length) lines.push(`  options: ${o.reply.options.map((x) => x.title).join(' | ')}`);
    for (const c of o.toolCalls ?? []) lines.push(`  tool ${c.name}: ${c.ok ? 'ok' : `error: ${c.error ?? ''}`} (${c.latencyMs} ms)`);
    if (o.handoff) {
      handoffs += 1;
      lines.push(`  HANDOFF (${o.handoff.reason}): ${o.handoff.summary}`);
    }
  }
  lines.push('', '== totals');
  lines.push(`turns: ${turns.length}; by source: ${[...bySource].map(([s, c]) => `${s} ${c}`).join(', ')}; handoffs: ${handoffs}; tokens in/out: ${tokensIn}/${tokensOut}`);
  return `${lines.join('\n').trim()}\n`;
}
