import type { ConversationRef, TemplateComponentValue } from '@switchboard/core';
import { validateTemplate, type TemplateCatalogue, type TemplateSendParams } from './whatsapp.templates.js';

/**
 * What broadcasts need from WhatsApp: the conversation a broadcast opens with a customer who never
 * wrote, the template check of every recipient before anything is queued, and what a failed send
 * means for the broadcast's counts (Meta's error codes).
 */

/** The conversation from `phoneNumberId` to WhatsApp user `waId` (the account's sending number); undefined without one. */
export function newConversationFrom(phoneNumberId: string | undefined, accountId: string, waId: string): ConversationRef | undefined {
  const userId = waId.trim().replace(/^\+/, '');
  if (!phoneNumberId || !/^\d{4,20}$/.test(userId)) return undefined;
  return { channel: 'whatsapp', account: phoneNumberId, userId, ...(accountId !== 'default' ? { accountId } : {}) };
}

/** One problem of a broadcast's template check. */
export interface TemplatePrepareProblem {
  /** The recipient's index, absent when the template itself is the problem. */
  readonly recipient?: number;
  readonly code: string;
  readonly message: string;
}

/** The outcome of checking one template for every recipient's parameters. */
export type TemplatePrepared =
  | { readonly ok: true; readonly category: string; readonly components: ReadonlyArray<readonly TemplateComponentValue[]> }
  | { readonly ok: false; readonly problems: readonly TemplatePrepareProblem[] };

/** Where the catalogue of an account is read (the `TemplateCatalogueService` satisfies it). */
export interface CatalogueSource {
  accountIds(): readonly string[];
  get(accountId: string): Promise<TemplateCatalogue | undefined>;
}

/** At most this many problems are reported (the first ones). */
const MAX_PROBLEMS = 20;

/**
 * Checks `template` against the account's catalogue for every recipient's parameters (name,
 * language, APPROVED, parameter count and names) and resolves each recipient's filled components.
 * The first {@link MAX_PROBLEMS} problems are reported; a template-wide problem is reported once.
 */
export function whatsappTemplatePreparer(catalogues: CatalogueSource | undefined) {
  return {
    async prepare(accountId: string, template: { name: string; language: string }, params: ReadonlyArray<unknown>): Promise<TemplatePrepared> {
      if (!catalogues || !catalogues.accountIds().includes(accountId)) {
        return { ok: false, problems: [{ code: 'templates_unavailable', message: `account "${accountId}" has no template catalogue (set WHATSAPP_WABA_ID or the account's wabaId)` }] };
      }
      const catalogue = await catalogues.get(accountId);
      if (!catalogue) return { ok: false, problems: [{ code: 'templates_unavailable', message: 'the template catalogue is being synced; try again' }] };
      const problems: TemplatePrepareProblem[] = [];
      const components: TemplateComponentValue[][] = [];
      let category = 'UNKNOWN';
      for (let i = 0; i < params.length && problems.length < MAX_PROBLEMS; i++) {
        const p = params[i] as TemplateSendParams | undefined;
        const v = validateTemplate(catalogue, { name: template.name, language: template.language, ...(p !== undefined ? { params: p } : {}) });
        if (!v.ok) {
          if (v.code !== 'parameter_mismatch') return { ok: false, problems: [{ code: v.code, message: v.message }] };
          problems.push({ recipient: i, code: v.code, message: v.message });
          continue;
        }
        category = v.template.category;
        components.push(v.components);
      }
      return problems.length > 0 ? { ok: false, problems } : { ok: true, category, components };
    },
  };
}

/** How a failed broadcast send is counted: skipped (the customer cannot be reached) or failed with a reason. */
export type BroadcastOutcome = { readonly skipped: 'blocked' | 'invalid' } | { readonly failed: string };

/** Meta's codes that mean "this customer cannot get the message", by what the counts call them. */
const SKIPPED: Readonly<Record<number, 'blocked' | 'invalid'>> = {
  // the customer blocked the business (or reported it): Meta refuses; never retried
  131050: 'blocked',
  // not a WhatsApp user / invalid recipient
  131026: 'invalid',
  131030: 'invalid',
  1013: 'invalid',
};
/** Reasons by code; any other code is counted as `code_<n>`. */
const REASONS: Readonly<Record<number, string>> = {
  // Meta's per-user marketing message limit ("healthy ecosystem"): not retried, counted
  131049: 'marketing_limit',
  131047: 'outside_window',
  131056: 'pair_rate_limit',
  131048: 'spam_rate_limit',
  132000: 'template_params',
  132001: 'template_missing',
  132015: 'template_paused',
  132016: 'template_disabled',
  131042: 'payment',
};

/** The outcome of a send that failed with `error` (a gateway error message or a status error: both carry Meta's code). */
export function whatsappBroadcastOutcome(error: string): BroadcastOutcome {
  const code = Number(/(?:WhatsApp |^|[\s(#])(\d{3,7})\b/.exec(error)?.[1] ?? NaN);
  if (Number.isFinite(code)) {
    const skipped = SKIPPED[code];
    if (skipped) return { skipped };
    return { failed: REASONS[code] ?? `code_${code}` };
  }
  return { failed: 'error' };
}
