import { refProfile, type ConversationRef, type CustomerProfile } from '@switchboard/core';
import type { ChatwootClient, ContactFields } from './chatwoot.client.js';
import type { MirrorMapping } from './chatwoot.mirror-store.js';
import { stateHash, type MirrorState } from './chatwoot.mirror-state.js';

/** State field of the contact profile last applied (hash of the fields sent). */
const PROFILE_FIELD = 'profile';

/** The customer's profile: what the conversation ref carries, completed by the channel's look-up. */
export function mergedProfile(ref: ConversationRef, looked?: CustomerProfile): CustomerProfile {
  const own = refProfile(ref);
  const identifiers = { ...own.identifiers, ...looked?.identifiers };
  return { ...own, ...looked, ...(Object.keys(identifiers).length > 0 ? { identifiers } : {}) };
}

/**
 * The contact fields a profile makes known: name, avatar and `additional_attributes` (channel,
 * username, provider ids). Only known values: an unknown name never overwrites one set earlier.
 */
export function knownContactFields(ref: ConversationRef, profile: CustomerProfile): ContactFields {
  return {
    ...(profile.name ? { name: profile.name } : {}),
    ...(profile.avatarUrl ? { avatar_url: profile.avatarUrl } : {}),
    additional_attributes: {
      source: ref.channel,
      channel: ref.channel,
      ...(profile.username ? { username: profile.username } : {}),
      ...profile.identifiers,
    },
  };
}

/** Options of {@link MirrorIdentity}. */
export interface MirrorIdentityOptions {
  readonly user: ChatwootClient;
  readonly state: MirrorState;
  /** Runs `fn` holding a named lock (the mirror's lock helper). */
  readonly locked: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
}

/**
 * Keeps a mirrored customer's Chatwoot contact in step with their profile: when what is known
 * changes (a WeChat nickname first unknown, then found), the contact is updated once
 * (`PATCH …/contacts/{id}`), remembered per conversation as a hash of the fields sent.
 */
export class MirrorIdentity {
  constructor(private readonly opts: MirrorIdentityOptions) {}

  /** Remembers the profile a contact was just created with (nothing to update). */
  async created(mapping: MirrorMapping, profile: CustomerProfile): Promise<void> {
    await this.opts.state.write(mapping, new Map([[PROFILE_FIELD, stateHash(knownContactFields(mapping.ref, profile))]]));
  }

  /** Updates the contact when its known profile differs from the one last applied; at most once per change. */
  async sync(mapping: MirrorMapping, profile: CustomerProfile): Promise<void> {
    const fields = knownContactFields(mapping.ref, profile);
    const hash = stateHash(fields);
    const same = async () => (await this.opts.state.read(mapping, [PROFILE_FIELD])).get(PROFILE_FIELD) === hash;
    if (await same()) return;
    await this.opts.locked(`profile:${mapping.conversationId}`, async () => {
      if (await same()) return;
      await this.opts.user.updateContact(mapping.contactId, fields);
      await this.opts.state.write(mapping, new Map([[PROFILE_FIELD, hash]]));
    });
  }
}
