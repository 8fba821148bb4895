import { z } from 'zod';

/**
 * Why a conversation went to people, the same on every channel (record, metrics, Chatwoot
 * `handoff-<reason>` labels):
 * - `customer_request`: the customer asked for a person ("talk to a human", "转人工").
 * - `agent_decision`: the agent decided (its `handoff_to_human` tool).
 * - `knowledge_gap`: strict grounding found nothing to answer with.
 * - `outside_hours`: outside business hours with `outside: queue`.
 * - `business_reply`: the business answered from its own app (WhatsApp coexistence echo) or a person replied.
 * - `paused`: an operator paused the bot (API, console, Chatwoot take over).
 * - `error`: the bot failed repeatedly (LLM unavailable).
 */
export const HANDOFF_REASONS = ['customer_request', 'agent_decision', 'knowledge_gap', 'outside_hours', 'business_reply', 'paused', 'error'] as const;
export const HandoffReason = z.enum(HANDOFF_REASONS);
export type HandoffReason = z.infer<typeof HandoffReason>;

/** Older or free-text reasons the pipeline wrote, mapped onto the canonical ones. */
const ALIASES: ReadonlyArray<readonly [RegExp, HandoffReason]> = [
  [/^(customer[_ -]?request|customer asked|asked for a (human|person))/i, 'customer_request'],
  [/^(llm[_ -]?unavailable|error|failed|failure)/i, 'error'],
  [/^(knowledge[_ -]?gap)/i, 'knowledge_gap'],
  [/^(outside[_ -]?hours)/i, 'outside_hours'],
  [/^(business[_ -]?reply|business message|human_agent message|human agent replied|chatwoot agent replied|a person replied)/i, 'business_reply'],
  [/^(paused|taken over|human took over|console|api)/i, 'paused'],
];

/**
 * The canonical {@link HandoffReason} of a reason text: a canonical value is returned as is, known
 * older texts map to theirs, and anything else (the agent tool's own words) is `agent_decision`.
 */
export function handoffReasonOf(text: string | undefined): HandoffReason {
  const t = (text ?? '').trim();
  const exact = HandoffReason.safeParse(t);
  if (exact.success) return exact.data;
  for (const [pattern, reason] of ALIASES) if (pattern.test(t)) return reason;
  return 'agent_decision';
}
