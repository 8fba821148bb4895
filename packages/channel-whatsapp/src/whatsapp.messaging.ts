import { z } from 'zod';
import { DEFAULT_ACCOUNT_ID, type ChannelMessaging, type ChannelMessagingModule, type ConversationRef, type PreparedTemplate, type TemplateSendRequest } from '@switchboard/core';
import type { MessagingContext } from '@switchboard/channel-runtime';
import { whatsappAccountFields, whatsappEnv } from './whatsapp.env.js';
import { openTemplateCatalogues, whatsappTemplateEnv } from './whatsapp.template-accounts.js';
import type { TemplateCatalogueService } from './whatsapp.template-catalogue.js';
import { validateTemplate, type TemplateSendParams } from './whatsapp.templates.js';

/**
 * The messaging half of the WhatsApp channel: template sends checked against the account's synced
 * catalogue and resolved into filled components, and the conversation a template opens with a
 * customer who never wrote (from the account's sending number).
 */

const env = { ...whatsappTemplateEnv, WHATSAPP_PHONE_NUMBER_ID: whatsappEnv.WHATSAPP_PHONE_NUMBER_ID };
const MessagingEnv = z.object(env);

const Value = z.string().max(1024);
const Values = z.union([z.array(Value).max(100), z.record(z.string().max(64), Value)]);
/** The `params` of a template send: a body list or name map, or `{header?, body?, buttons?}`. */
export const TemplateParamsShape = z.union([
  z.strictObject({ header: Values.optional(), body: Values.optional(), buttons: z.array(Value).max(10).optional() }).refine((p) => Object.keys(p).length > 0, 'params: give header, body or buttons'),
  Values,
]);

/** A wa_id: digits only (a leading `+` is stripped by the caller). */
const WA_ID = /^\d{5,20}$/;

/** Each account's sending number for new conversations: `WHATSAPP_PHONE_NUMBER_ID`, or the file entry's `phoneNumberId` (default its first number). */
function sendingNumbers(e: z.output<typeof MessagingEnv>, opts: Parameters<ChannelMessagingModule<MessagingContext>['open']>[0]): Map<string, string> {
  const numbers = new Map<string, string>();
  if (e.WHATSAPP_PHONE_NUMBER_ID) numbers.set(DEFAULT_ACCOUNT_ID, e.WHATSAPP_PHONE_NUMBER_ID);
  for (const entry of opts.accountsFile?.entries ?? []) {
    if (entry.channel !== 'whatsapp') continue;
    const f = whatsappAccountFields.safeParse(entry.fields);
    if (f.success) numbers.set(entry.id, f.data.phoneNumberId ?? f.data.phoneNumberIds[0]!);
  }
  return numbers;
}

async function prepare(catalogues: TemplateCatalogueService | undefined, accountId: string, request: TemplateSendRequest): Promise<PreparedTemplate> {
  if (!catalogues || !catalogues.accountIds().includes(accountId)) {
    return { ok: false, refusal: { status: 422, error: 'unsupported', message: `WhatsApp account "${accountId}" has no template catalogue: set WHATSAPP_WABA_ID (account default) or wabaId (ACCOUNTS_FILE)` } };
  }
  const params = request.params === undefined ? undefined : TemplateParamsShape.safeParse(request.params);
  if (params && !params.success) {
    return { ok: false, refusal: { status: 422, error: 'template_invalid', reason: 'parameter_mismatch', message: 'template params must be a list of values, a map of names to values, or {header?, body?, buttons?}', details: params.error.issues.map((i) => `${['params', ...i.path].join('.')}: ${i.message}`) } };
  }
  let catalogue;
  try {
    catalogue = await catalogues.get(accountId);
  } catch (err) {
    return { ok: false, refusal: { status: 503, error: 'unavailable', message: `the template catalogue could not be synced from Meta: ${err instanceof Error ? err.message : String(err)}` } };
  }
  if (!catalogue) return { ok: false, refusal: { status: 503, error: 'unavailable', message: 'the template catalogue is being synced; try again' } };
  const values = params?.data as TemplateSendParams | undefined;
  const checked = validateTemplate(catalogue, { name: request.name, language: request.language, ...(values !== undefined ? { params: values } : {}) });
  if (!checked.ok) return { ok: false, refusal: { status: 422, error: 'template_invalid', reason: checked.code, message: checked.message, ...(checked.details ? { details: checked.details } : {}) } };
  const { components } = checked;
  return { ok: true, template: { name: checked.template.name, language: checked.template.language, ...(components.length > 0 ? { components } : {}) } };
}

/** The WhatsApp channel's messaging half (templates, new conversations). */
export const whatsappMessaging: ChannelMessagingModule<MessagingContext> = {
  env,
  open(opts): ChannelMessaging {
    const e = MessagingEnv.parse(opts.env);
    // the workers sync the catalogues on their schedule; this reads the cache and syncs only when it is empty
    const catalogues = openTemplateCatalogues({ env: opts.env, accountsFile: opts.accountsFile, redis: opts.context.redis, keys: opts.context.keys.templates, log: opts.context.log });
    const numbers = sendingNumbers(e, opts);
    return {
      prepareTemplate: (accountId, request) => prepare(catalogues, accountId, request),
      refForNewCustomer(accountId, to): ConversationRef | undefined {
        const phoneNumberId = numbers.get(accountId);
        if (!phoneNumberId || !WA_ID.test(to)) return undefined;
        // the reference the inbound builds when they answer (account = phone number id, userId = wa_id): one conversation
        return { channel: 'whatsapp', ...(accountId !== DEFAULT_ACCOUNT_ID ? { accountId } : {}), account: phoneNumberId, userId: to, address: to, phone: `+${to}` };
      },
    };
  },
};
