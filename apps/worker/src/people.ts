import { accountIdOf, normalizeIdentifier, type ConversationRef, type PersonContext, type PersonIdentifier } from '@switchboard/core';
import type { VerifiedPerson } from '@switchboard/agent';
import type { Person } from '@switchboard/people';
import type { WorkerDeps } from './deps.js';


/**
 * The identifiers a conversation's customer can be found by: the channel's customer id (its
 * `customerIdKind`; WhatsApp's wa_id also as a phone number), the phone and the username the
 * provider gave. Only what the provider authenticated: never anything from the message text.
 */
export function identifiersOf(deps: Pick<WorkerDeps, 'channels'>, ref: ConversationRef): PersonIdentifier[] {
  const out = new Map<string, PersonIdentifier>();
  const add = (kind: PersonIdentifier['kind'], raw: string | undefined) => {
    const value = raw === undefined ? undefined : normalizeIdentifier(kind, raw);
    if (value !== undefined) out.set(`${kind}:${value}`, { kind, value });
  };
  const kind = deps.channels[ref.channel].module.customerIdKind;
  if (kind) {
    add(kind, ref.userId);
    add(kind, ref.address);
  }
  add('phone', ref.phone);
  add('username', ref.username);
  return [...out.values()];
}

/** The primary identifier of a conversation's customer (what a verification links), if the channel has one. */
export function primaryIdentifierOf(deps: Pick<WorkerDeps, 'channels'>, ref: ConversationRef): PersonIdentifier | undefined {
  const kind = deps.channels[ref.channel].module.customerIdKind;
  if (!kind) return undefined;
  const value = normalizeIdentifier(kind, ref.address ?? ref.userId) ?? normalizeIdentifier(kind, ref.userId);
  return value === undefined ? undefined : { kind, value };
}

/** A directory entry as the agent and its tools see it. */
export function personContext(p: Person): PersonContext {
  return { id: p.id, role: p.role, attributes: p.attributes, verified: true, ...(p.name ? { name: p.name } : {}), ...(p.externalId ? { externalId: p.externalId } : {}), ...(p.language ? { language: p.language } : {}) };
}

/**
 * Who the customer of a conversation is: the directory entry of the conversation's gateway
 * account owning one of its identifiers, or undefined (an unknown sender: the default role). A
 * directory that cannot be read is logged and treated as unknown (the default role decides).
 */
export async function personOf(deps: Pick<WorkerDeps, 'channels' | 'people' | 'log'>, ref: ConversationRef): Promise<PersonContext | undefined> {
  if (!deps.people) return undefined;
  try {
    const person = await deps.people.lookup.find(accountIdOf(ref), identifiersOf(deps, ref));
    return person ? personContext(person) : undefined;
  } catch (err) {
    deps.log.warn('people directory look-up failed; the sender gets the default role', { channel: ref.channel, err: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

/** Links the customer's identifier to the person a verification named (then forgets cached look-ups). */
export async function linkVerified(deps: Pick<WorkerDeps, 'channels' | 'people' | 'log'>, ref: ConversationRef, verified: VerifiedPerson): Promise<void> {
  const identifier = primaryIdentifierOf(deps, ref);
  if (!deps.people || !identifier) {
    deps.log.warn('verified customer not linked: no directory or no identifier on this channel', { channel: ref.channel });
    return;
  }
  const person = await deps.people.directory.linkVerified(accountIdOf(ref), identifier, verified.externalId, verified.role, verified.name);
  deps.people.lookup.invalidate();
  deps.log.info('customer verified and linked', { channel: ref.channel, person: person.id });
}
