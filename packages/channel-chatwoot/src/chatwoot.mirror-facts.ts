import { DEFAULT_ACCOUNT_ID, handoffReasonOf, type MirrorJob } from '@switchboard/core';
import type { ChatwootClient } from './chatwoot.client.js';
import type { MirrorMapping } from './chatwoot.mirror-store.js';
import { stateHash, type MirrorState } from './chatwoot.mirror-state.js';
import type { MirrorFact, MirrorFactSettings } from './chatwoot.mirror-facts-config.js';

/**
 * A Chatwoot-valid label part: lowercase letters, digits, `-` and `_` (other characters become `-`),
 * at most 40 characters.
 */
export function labelPart(text: string): string {
  const slug = text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || 'other';
}

/** One group of labels the gateway owns: at most one label of the group is on a conversation. */
interface LabelGroup {
  readonly fact: MirrorFact;
  /** Labels of the group: an exact name or a prefix. */
  owns(label: string): boolean;
  /** The label to set; null = remove the group's label. */
  readonly label: string | null;
}

/** What one job wants the conversation to show. */
interface Desired {
  readonly labels: LabelGroup[];
  /** Conversation custom attributes. */
  readonly attributes: Record<string, unknown>;
  /** Contact custom attributes (per customer, merged by Chatwoot's PATCH). */
  readonly contactAttributes: Record<string, unknown>;
}

const prefixGroup = (fact: MirrorFact, prefix: string, value: string): LabelGroup => ({ fact, owns: (l) => l.startsWith(prefix), label: `${prefix}${labelPart(value)}` });

/** The labels and attributes a job asks for (each fact only when the job knows it and the setting lets it through). */
export function desiredFacts(job: MirrorJob, settings: MirrorFactSettings): Desired {
  const labelOn = new Set(settings.labels);
  const attrOn = new Set(settings.attributes);
  const { facts } = job;
  const account = job.ref.accountId ?? DEFAULT_ACCOUNT_ID;
  const labels: LabelGroup[] = [];
  const attributes: Record<string, unknown> = {};
  const contactAttributes: Record<string, unknown> = {};
  if (labelOn.has('channel')) labels.push(prefixGroup('channel', 'channel-', job.ref.channel));
  if (attrOn.has('channel')) attributes['channel'] = job.ref.channel;
  if (labelOn.has('account')) labels.push(prefixGroup('account', 'account-', account));
  if (attrOn.has('account')) attributes['gateway_account'] = account;
  if (facts?.language !== undefined) {
    if (labelOn.has('language')) labels.push(prefixGroup('language', 'lang-', facts.language));
    if (attrOn.has('language')) attributes['language'] = facts.language;
  }
  if (facts?.handoff) {
    // the canonical reason (the same on every channel), never the agent tool's free text
    const reason = handoffReasonOf(facts.handoff.reason);
    if (labelOn.has('handoff')) labels.push(prefixGroup('handoff', 'handoff-', reason));
    if (attrOn.has('handoff')) {
      attributes['handoff_reason'] = reason;
      if (facts.handoff.reason.trim() && facts.handoff.reason !== reason) attributes['handoff_detail'] = facts.handoff.reason.slice(0, 200);
    }
    if (attrOn.has('summary') && facts.handoff.summary.trim()) attributes['handoff_summary'] = facts.handoff.summary.slice(0, 2000);
  }
  if (facts?.optedOut !== undefined) {
    if (labelOn.has('opted-out')) labels.push({ fact: 'opted-out', owns: (l) => l === 'opted-out', label: facts.optedOut ? 'opted-out' : null });
    if (attrOn.has('opted-out')) {
      attributes['opted_out'] = facts.optedOut;
      contactAttributes['opted_out'] = facts.optedOut;
    }
  }
  return { labels, attributes, contactAttributes };
}

/** Merges the wanted groups into a conversation's labels; the others (an agent's own) stay. */
export function mergeLabels(current: readonly string[], groups: readonly LabelGroup[]): string[] {
  const kept = current.filter((l) => !groups.some((g) => g.owns(l) && l !== g.label));
  const added = groups.flatMap((g) => (g.label !== null && !kept.includes(g.label) ? [g.label] : []));
  return [...kept, ...added];
}

/** Options of {@link MirrorFacts}. */
export interface MirrorFactsOptions {
  readonly user: ChatwootClient;
  readonly state: MirrorState;
  readonly settings: MirrorFactSettings;
  /** Runs `fn` holding the conversation's lock (the mirror's lock helper). */
  readonly locked: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
}

/**
 * Labels and custom attributes of mirrored conversations. Chatwoot's label and attribute endpoints
 * REPLACE the whole list/bag, so each change is read → merge → write under the conversation's lock
 * (two jobs of one conversation never lose each other's labels), and what was applied is remembered
 * per conversation: a retried job, or one that asks for what is already set, calls Chatwoot not at all.
 */
export class MirrorFacts {
  constructor(private readonly opts: MirrorFactsOptions) {}

  /** Applies what `job` knows to its mirror conversation; safe to run twice. */
  async apply(mapping: MirrorMapping, job: MirrorJob): Promise<void> {
    const desired = desiredFacts(job, this.opts.settings);
    const entries = stateEntries(desired);
    if (entries.size === 0 || !(await this.changed(mapping, entries))) return;
    await this.opts.locked(`facts:${mapping.conversationId}`, async () => {
      const stored = await this.opts.state.read(mapping, [...entries.keys()]);
      const differs = (field: string) => stored.get(field) !== entries.get(field);
      const labels = desired.labels.filter((g) => differs(`l:${g.fact}`));
      const attributes = Object.entries(desired.attributes).filter(([k]) => differs(`a:${k}`));
      const contact = Object.entries(desired.contactAttributes).filter(([k]) => differs(`c:${k}`));
      if (labels.length > 0) await this.mergeLabels(mapping.conversationId, labels);
      if (attributes.length > 0) await this.mergeAttributes(mapping.conversationId, Object.fromEntries(attributes));
      if (contact.length > 0) await this.opts.user.updateContact(mapping.contactId, { custom_attributes: Object.fromEntries(contact) });
      await this.opts.state.write(mapping, entries);
    });
  }

  private async changed(mapping: MirrorMapping, entries: ReadonlyMap<string, string>): Promise<boolean> {
    const stored = await this.opts.state.read(mapping, [...entries.keys()]);
    return [...entries].some(([field, value]) => stored.get(field) !== value);
  }

  private async mergeLabels(chatwootConversationId: number, groups: readonly LabelGroup[]): Promise<void> {
    const current = await this.opts.user.listLabels(chatwootConversationId);
    const next = mergeLabels(current, groups);
    if (next.length === current.length && next.every((l) => current.includes(l))) return;
    await this.opts.user.setLabels(chatwootConversationId, next);
  }

  private async mergeAttributes(chatwootConversationId: number, wanted: Record<string, unknown>): Promise<void> {
    const current = (await this.opts.user.getConversation(chatwootConversationId)).custom_attributes ?? {};
    if (Object.entries(wanted).every(([k, v]) => current[k] === v)) return;
    await this.opts.user.setCustomAttributes(chatwootConversationId, { ...current, ...wanted });
  }
}

/** The state fields of what is desired: `l:<fact>` labels, `a:<key>` conversation and `c:<key>` contact attributes. */
function stateEntries(desired: Desired): Map<string, string> {
  return new Map([
    ...desired.labels.map((g) => [`l:${g.fact}`, stateHash(g.label)] as const),
    ...Object.entries(desired.attributes).map(([k, v]) => [`a:${k}`, stateHash(v)] as const),
    ...Object.entries(desired.contactAttributes).map(([k, v]) => [`c:${k}`, stateHash(v)] as const),
  ]);
}
