import {
  ProviderRejectedError,
  type ConversationRef,
  type HeldReplyContext,
  type HeldReplyPolicy,
  type ReengagementReply,
  type StatusEvent,
  type TemplateComponentValue,
} from '@switchboard/core';
import { WINDOW_CLOSED } from './whatsapp.errors.js';
import { WHATSAPP_FREE_FORM_WINDOW } from './whatsapp.policy.js';
import { validateTemplate, type TemplateCatalogue, type TemplateParamValues } from './whatsapp.templates.js';

/**
 * The re-engagement template of held replies (WHATSAPP_REENGAGE_TEMPLATE, formerly
 * WHATSAPP_FALLBACK_TEMPLATE) and its body variables filled from the conversation
 * (WHATSAPP_REENGAGE_PARAMS).
 */

/** What a template variable is filled with: the customer's profile name, or a short reason for the message. */
export type ReengageSource = 'customer_name' | 'reason';
const SOURCES: readonly ReengageSource[] = ['customer_name', 'reason'];

/** One body variable and its source (with the text used when the source is empty). */
export interface ReengageVariable {
  /** `1`, `2`… (positional templates) or the parameter's name (named templates). */
  readonly variable: string;
  readonly source: ReengageSource;
  readonly fallback?: string;
}

/** The parsed WHATSAPP_REENGAGE_PARAMS. */
export interface ReengageParams {
  readonly format: 'positional' | 'named';
  readonly variables: readonly ReengageVariable[];
}

/**
 * Parses WHATSAPP_REENGAGE_PARAMS: comma-separated `<variable>=<source>[|<fallback>]`, where
 * `<variable>` is `1`…`n` (positional body variables, each once, no gaps) or a named parameter
 * (`[a-z_][a-z0-9_]*`, all named), `<source>` is `customer_name` or `reason`, and `<fallback>` the
 * text used when the source is empty (default `there` for `customer_name`). Empty = no variables.
 * Example: `1=customer_name|there,2=reason`, `first_name=customer_name,topic=reason`.
 * @throws Error naming the problem (a configuration error)
 */
export function parseReengageParams(spec: string | undefined): ReengageParams | undefined {
  if (!spec?.trim()) return undefined;
  const variables = spec.split(',').map((item): ReengageVariable => {
    const m = /^\s*([A-Za-z0-9_]+)\s*=\s*([a-z_]+)\s*(?:\|(.*))?$/.exec(item);
    if (!m?.[1] || !m[2]) throw new Error(`WHATSAPP_REENGAGE_PARAMS: "${item.trim()}" is not <variable>=<source>[|fallback]`);
    const source = m[2] as ReengageSource;
    if (!SOURCES.includes(source)) throw new Error(`WHATSAPP_REENGAGE_PARAMS: unknown source "${m[2]}" (use ${SOURCES.join(' or ')})`);
    const fallback = m[3]?.trim();
    return { variable: m[1], source, ...(fallback ? { fallback } : {}) };
  });
  const positional = variables.every((v) => /^\d+$/.test(v.variable));
  if (!positional && !variables.every((v) => /^[a-z_][a-z0-9_]*$/.test(v.variable))) {
    throw new Error('WHATSAPP_REENGAGE_PARAMS: variables are all numbers (1, 2…) or all lower-case names, not both');
  }
  if (positional) {
    const numbers = variables.map((v) => Number(v.variable)).sort((a, b) => a - b);
    if (numbers.some((n, i) => n !== i + 1)) throw new Error('WHATSAPP_REENGAGE_PARAMS: positional variables must be 1…n, each once');
    return { format: 'positional', variables: [...variables].sort((a, b) => Number(a.variable) - Number(b.variable)) };
  }
  if (new Set(variables.map((v) => v.variable)).size !== variables.length) throw new Error('WHATSAPP_REENGAGE_PARAMS: a variable is named twice');
  return { format: 'named', variables };
}

/** The reason text per origin of the first held reply of an episode (WHATSAPP_REENGAGE_REASON replaces them all). */
const REASONS: Readonly<Record<string, string>> = {
  agent: 'an answer to your question',
  notice: 'an answer to your question',
  human: 'a reply from our team',
  api: 'a message for you',
};

/** Meta refuses empty parameters and ones with new lines, tabs or more than four spaces in a row. */
function parameterText(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return Array.from(flat).length <= max ? flat : Array.from(flat).slice(0, max - 1).join('') + '…';
}

/** The values of the configured variables for one conversation. */
export function reengageValues(params: ReengageParams, ref: ConversationRef, context: HeldReplyContext, reasonText?: string): TemplateParamValues {
  const value = (v: ReengageVariable) => {
    const raw = v.source === 'customer_name' ? parameterText(ref.displayName ?? '', 60) : parameterText(reasonText ?? REASONS[context.origin] ?? 'a message for you', 200);
    return raw || v.fallback || (v.source === 'customer_name' ? 'there' : 'a message for you');
  };
  if (params.format === 'positional') return params.variables.map(value);
  return Object.fromEntries(params.variables.map((v) => [v.variable, value(v)]));
}

/** Settings of {@link createWhatsAppHeldReplyPolicy}. */
export interface WhatsAppReengageSettings {
  readonly template: { readonly name: string; readonly language: string };
  readonly params?: ReengageParams;
  /** WHATSAPP_REENGAGE_REASON: one reason text for every held reply. */
  readonly reasonText?: string;
  /** WHATSAPP_HELD_REPLY_TTL_HOURS in ms. */
  readonly ttlMs: number;
  /** WHATSAPP_HELD_REPLY_MAX. */
  readonly maxPerConversation: number;
}

/** Body components without a catalogue: the configured variables as they are. */
function bodyComponents(values: TemplateParamValues | undefined): TemplateComponentValue[] {
  if (!values) return [];
  const list = Array.isArray(values) ? (values as readonly string[]).map((text) => ({ text })) : Object.entries(values).map(([name, text]) => ({ name, text }));
  return list.length > 0 ? [{ part: 'body', values: list }] : [];
}

/**
 * The re-engagement reply: the template with its variables filled, checked against the account's
 * template catalogue when it has one (WABA id): an unknown, unapproved or mismatched template is a
 * problem, never sent. Without a catalogue (or while Meta cannot be read) it is sent as configured.
 */
export async function reengagementReply(settings: WhatsAppReengageSettings, ref: ConversationRef, context: HeldReplyContext, catalogue?: () => Promise<TemplateCatalogue | undefined>): Promise<ReengagementReply> {
  const { name, language } = settings.template;
  const values = settings.params ? reengageValues(settings.params, ref, context, settings.reasonText) : undefined;
  const known = catalogue ? await catalogue().catch(() => undefined) : undefined;
  let components: TemplateComponentValue[];
  if (known) {
    const checked = validateTemplate(known, { name, language, ...(values ? { params: values } : {}) });
    if (!checked.ok) return { problem: `re-engagement template ${name}:${language}: ${checked.code}: ${checked.message}` };
    components = checked.components;
  } else {
    components = bodyComponents(values);
  }
  return { reply: { text: '', template: { name, language, ...(components.length > 0 ? { components } : {}) } } };
}

const windowClosedCode = String(WINDOW_CLOSED);

/** The held-reply policy of a WhatsApp account with a re-engagement template. */
export function createWhatsAppHeldReplyPolicy(settings: WhatsAppReengageSettings, catalogue?: () => Promise<TemplateCatalogue | undefined>): HeldReplyPolicy {
  return {
    window: WHATSAPP_FREE_FORM_WINDOW,
    windowClosedError: (err) => err instanceof ProviderRejectedError && err.providerCode === windowClosedCode,
    windowClosedStatus: (event: StatusEvent) => event.status === 'failed' && event.errors.some((e) => e.code === WINDOW_CLOSED),
    reengagement: (ref, context) => reengagementReply(settings, ref, context, catalogue),
    ttlMs: settings.ttlMs,
    maxPerConversation: settings.maxPerConversation,
  };
}
