import { z } from 'zod';

/** The facts the mirror can show on a conversation, as labels and/or custom attributes. */
export const MIRROR_FACTS = ['channel', 'account', 'language', 'handoff', 'summary', 'opted-out'] as const;
export type MirrorFact = (typeof MIRROR_FACTS)[number];

/** `on` (every fact), `off` (none) or a list of facts (`channel,handoff,opted-out`); YAML's `true`/`false` are on/off. */
export const MirrorFactList = z
  .union([z.enum(['on', 'off']), z.boolean(), z.array(z.enum(MIRROR_FACTS)), z.string()])
  .transform((v, ctx): readonly MirrorFact[] => {
    if (v === 'on' || v === true) return MIRROR_FACTS;
    if (v === 'off' || v === false) return [];
    const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
    const unknown = list.filter((f) => !(MIRROR_FACTS as readonly string[]).includes(f));
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `must be on, off or a list of ${MIRROR_FACTS.join(', ')} (unknown: ${unknown.join(', ')})` });
    return list as MirrorFact[];
  });

/** Which facts go where (labels never carry the summary). */
export interface MirrorFactSettings {
  readonly labels: readonly MirrorFact[];
  readonly attributes: readonly MirrorFact[];
}

/** Both on: the default. */
export const ALL_MIRROR_FACTS: MirrorFactSettings = { labels: MIRROR_FACTS, attributes: MIRROR_FACTS };
