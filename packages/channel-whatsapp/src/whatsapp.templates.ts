import { z } from 'zod';
import type { TemplateComponentValue, TemplateValue } from '@switchboard/core';

/**
 * The WhatsApp template catalogue of one business account (WABA), as synced from
 * `GET /{waba-id}/message_templates`, and the check a send runs against it.
 */

/** How a template names its variables: `{{1}}` (positional) or `{{first_name}}` (named). */
export type ParameterFormat = 'positional' | 'named';

/** The variables of one text (header, body or a URL button). */
export interface TemplateParameters {
  readonly format: ParameterFormat;
  /** Positional: `['1', '2']`; named: the names in order of first use. */
  readonly names: readonly string[];
}

/** One button of a template; `parameters` counts what a send must supply for it. */
export interface TemplateButton {
  /** QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, … as Meta names them. */
  readonly type: string;
  readonly text?: string;
  /** 1 for a URL with a `{{1}}` suffix or a COPY_CODE button, else 0. */
  readonly parameters: number;
}

/** The parsed components of one template. */
export interface TemplateComponents {
  readonly header?: { readonly format: string; readonly text?: string; readonly parameters: TemplateParameters | { readonly format: 'media'; readonly names: readonly [] }; readonly parameterCount: number };
  readonly body?: { readonly text: string; readonly parameters: TemplateParameters; readonly parameterCount: number };
  readonly footer?: { readonly text: string };
  readonly buttons: readonly TemplateButton[];
}

/** One template in one language. */
export interface WhatsAppTemplate {
  readonly id?: string;
  readonly name: string;
  readonly language: string;
  /** APPROVED, PENDING, REJECTED, PAUSED, DISABLED, … (only APPROVED may be sent). */
  readonly status: string;
  /** MARKETING, UTILITY or AUTHENTICATION. */
  readonly category: string;
  readonly components: TemplateComponents;
  /** Meta's components as received (for callers that need more than the typed shape). */
  readonly raw: readonly unknown[];
}

/** The cached catalogue of one account. */
export interface TemplateCatalogue {
  readonly accountId: string;
  readonly wabaId: string;
  /** ISO time of the last successful sync. */
  readonly syncedAt: string;
  readonly templates: readonly WhatsAppTemplate[];
}

const VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** The variables of a template text, each once, in order of first use. */
export function textParameters(text: string | undefined): TemplateParameters {
  const names: string[] = [];
  for (const m of (text ?? '').matchAll(VARIABLE)) if (!names.includes(m[1]!)) names.push(m[1]!);
  const format: ParameterFormat = names.length > 0 && names.every((n) => /^\d+$/.test(n)) ? 'positional' : names.length === 0 ? 'positional' : 'named';
  return { format, names };
}

const RawButton = z.looseObject({ type: z.string(), text: z.string().optional(), url: z.string().optional() });
const RawComponent = z.looseObject({
  type: z.string(),
  format: z.string().optional(),
  text: z.string().optional(),
  buttons: z.array(z.unknown()).optional(),
});
/** One entry of `data` of `GET /{waba-id}/message_templates`; read defensively, a malformed entry is skipped. */
export const RawTemplate = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String).optional(),
  name: z.string().min(1),
  language: z.string().min(1),
  status: z.string().min(1),
  category: z.string().default('UNKNOWN'),
  components: z.array(z.unknown()).default([]),
});

const MEDIA_HEADERS = new Set(['IMAGE', 'VIDEO', 'DOCUMENT', 'LOCATION']);

/** Meta's `components` → the typed shape with parameter counts. Unknown component types are ignored. */
export function parseComponents(raw: readonly unknown[]): TemplateComponents {
  let header: TemplateComponents['header'];
  let body: TemplateComponents['body'];
  let footer: TemplateComponents['footer'];
  const buttons: TemplateButton[] = [];
  for (const item of raw) {
    const c = RawComponent.safeParse(item);
    if (!c.success) continue;
    const type = c.data.type.toUpperCase();
    if (type === 'HEADER') {
      const format = (c.data.format ?? 'TEXT').toUpperCase();
      if (MEDIA_HEADERS.has(format)) {
        // a media or location header takes exactly one parameter: the media (or location) itself
        header = { format, parameters: { format: 'media', names: [] }, parameterCount: 1 };
      } else {
        const parameters = textParameters(c.data.text);
        header = { format, ...(c.data.text !== undefined ? { text: c.data.text } : {}), parameters, parameterCount: parameters.names.length };
      }
    } else if (type === 'BODY') {
      const text = c.data.text ?? '';
      const parameters = textParameters(text);
      body = { text, parameters, parameterCount: parameters.names.length };
    } else if (type === 'FOOTER') {
      footer = { text: c.data.text ?? '' };
    } else if (type === 'BUTTONS') {
      for (const b of c.data.buttons ?? []) {
        const btn = RawButton.safeParse(b);
        if (!btn.success) continue;
        const bt = btn.data.type.toUpperCase();
        const parameters = bt === 'URL' ? Math.min(1, textParameters(btn.data.url).names.length) : bt === 'COPY_CODE' ? 1 : 0;
        buttons.push({ type: bt, ...(btn.data.text !== undefined ? { text: btn.data.text } : {}), parameters });
      }
    }
  }
  return { ...(header ? { header } : {}), ...(body ? { body } : {}), ...(footer ? { footer } : {}), buttons };
}

/** One raw `data` entry → a template, or undefined when it lacks name, language or status. */
export function parseTemplate(raw: unknown): WhatsAppTemplate | undefined {
  const t = RawTemplate.safeParse(raw);
  if (!t.success) return undefined;
  return {
    ...(t.data.id ? { id: t.data.id } : {}),
    name: t.data.name,
    language: t.data.language,
    status: t.data.status.toUpperCase(),
    category: t.data.category.toUpperCase(),
    components: parseComponents(t.data.components),
    raw: t.data.components,
  };
}

/** Values for a template's variables: in order (`['Ana', '42']`) or by name (`{first_name: 'Ana'}`). */
export type TemplateParamValues = readonly string[] | Readonly<Record<string, string>>;

/**
 * Parameters of a send: a bare list or name map fills the body; the structured form fills header,
 * body and the parameterised buttons (in the order the template lists them).
 */
export type TemplateSendParams =
  | TemplateParamValues
  | { readonly header?: TemplateParamValues; readonly body?: TemplateParamValues; readonly buttons?: readonly string[] };

/** A template a send asks for. */
export interface TemplateRequest {
  readonly name: string;
  readonly language: string;
  readonly params?: TemplateSendParams;
}

/** Why a template send is refused before it reaches Meta. */
export type TemplateProblemCode = 'unknown_template' | 'language_unavailable' | 'not_approved' | 'parameter_mismatch';

/** The result of {@link validateTemplate}. */
export type TemplateValidation =
  | { readonly ok: true; readonly template: WhatsAppTemplate; /** The filled components of this send ({@link resolveTemplateComponents}). */ readonly components: TemplateComponentValue[] }
  | { readonly ok: false; readonly code: TemplateProblemCode; readonly message: string; readonly details?: readonly string[] };

function isStructured(p: TemplateSendParams): p is { header?: TemplateParamValues; body?: TemplateParamValues; buttons?: readonly string[] } {
  if (Array.isArray(p)) return false;
  const values = Object.entries(p as Record<string, unknown>);
  return values.length > 0 && values.every(([k, v]) => ['header', 'body', 'buttons'].includes(k) && typeof v !== 'string');
}

function checkPart(part: string, expected: TemplateParameters | undefined, count: number, given: TemplateParamValues | undefined): string | undefined {
  const list = given === undefined ? [] : Array.isArray(given) ? given : undefined;
  if (list) {
    if (list.length !== count) return `${part}: ${count} parameter${count === 1 ? '' : 's'} expected, ${list.length} given`;
    return undefined;
  }
  const named = given as Readonly<Record<string, string>>;
  if (expected?.format !== 'named') return `${part}: the template uses positional parameters; give a list of ${count}`;
  const missing = expected.names.filter((n) => !(n in named));
  const extra = Object.keys(named).filter((n) => !expected.names.includes(n));
  if (missing.length === 0 && extra.length === 0) return undefined;
  return `${part}: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unknown ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`;
}

/**
 * Checks a template send against the catalogue: the name exists, in that language, is APPROVED,
 * and the parameters match the header, body and button variables in number (and names, for named
 * templates). Clear messages name what is available.
 */
export function validateTemplate(catalogue: Pick<TemplateCatalogue, 'templates'>, req: TemplateRequest): TemplateValidation {
  const byName = catalogue.templates.filter((t) => t.name === req.name);
  if (byName.length === 0) return { ok: false, code: 'unknown_template', message: `no template named "${req.name}" in this account's catalogue` };
  const template = byName.find((t) => t.language === req.language);
  if (!template) {
    const langs = byName.map((t) => t.language).sort();
    return { ok: false, code: 'language_unavailable', message: `template "${req.name}" is not available in ${req.language}; available: ${langs.join(', ')}`, details: langs };
  }
  if (template.status !== 'APPROVED') return { ok: false, code: 'not_approved', message: `template "${req.name}" (${req.language}) is ${template.status}, only APPROVED templates can be sent` };
  const c = template.components;
  const p = req.params;
  const structured = p !== undefined && isStructured(p);
  const header = structured ? p.header : undefined;
  const body = structured ? p.body : (p as TemplateParamValues | undefined);
  const buttons = structured ? (p.buttons ?? []) : [];
  const problems: string[] = [];
  const headerParams = c.header?.parameters.format === 'media' ? undefined : c.header?.parameters;
  if (c.header?.parameters.format === 'media') {
    if (!Array.isArray(header) || header.length !== 1) problems.push(`header: one media parameter (a link or media id) expected`);
  } else {
    const h = checkPart('header', headerParams, c.header?.parameterCount ?? 0, header);
    if (h) problems.push(h);
  }
  const b = checkPart('body', c.body?.parameters, c.body?.parameterCount ?? 0, body);
  if (b) problems.push(b);
  const buttonCount = c.buttons.reduce((n, btn) => n + btn.parameters, 0);
  if (buttons.length !== buttonCount) problems.push(`buttons: ${buttonCount} parameter${buttonCount === 1 ? '' : 's'} expected, ${buttons.length} given`);
  if (problems.length > 0) return { ok: false, code: 'parameter_mismatch', message: `template "${req.name}" (${req.language}): ${problems.join('; ')}`, details: problems };
  return { ok: true, template, components: resolveTemplateComponents(template, req.params) };
}

function valuesOf(given: TemplateParamValues | undefined, expected: TemplateParameters | undefined): TemplateValue[] {
  if (given === undefined) return [];
  if (Array.isArray(given)) return (given as readonly string[]).map((text, i) => (expected?.format === 'named' && expected.names[i] ? { name: expected.names[i], text } : { text }));
  const named = given as Readonly<Record<string, string>>;
  return (expected?.names ?? Object.keys(named)).filter((n) => n in named).map((name) => ({ name, text: named[name]! }));
}

const MEDIA_HEADER: Readonly<Record<string, 'image' | 'video' | 'document'>> = { IMAGE: 'image', VIDEO: 'video', DOCUMENT: 'document' };
const BUTTON_KIND: Readonly<Record<string, 'url' | 'copy_code'>> = { URL: 'url', COPY_CODE: 'copy_code', OTP: 'url' };

/**
 * The filled components of a send of `template` (one that {@link validateTemplate} accepted for
 * these parameters): header text variables or the media link of a media header, the body's
 * variables (named ones carry their name), and one value per parameterised button, in the
 * template's button order.
 */
export function resolveTemplateComponents(template: WhatsAppTemplate, params: TemplateSendParams | undefined): TemplateComponentValue[] {
  const c = template.components;
  const structured = params !== undefined && isStructured(params);
  const header = structured ? params.header : undefined;
  const body = structured ? params.body : (params as TemplateParamValues | undefined);
  const buttons = structured ? (params.buttons ?? []) : [];
  const out: TemplateComponentValue[] = [];
  const mediaKind = c.header ? MEDIA_HEADER[c.header.format.toUpperCase()] : undefined;
  if (mediaKind && Array.isArray(header) && header[0]) out.push({ part: 'header-media', kind: mediaKind, url: String(header[0]) });
  else if (c.header && c.header.parameters.format !== 'media') {
    const values = valuesOf(header, c.header.parameters);
    if (values.length > 0) out.push({ part: 'header', values });
  }
  const bodyValues = valuesOf(body, c.body?.parameters);
  if (bodyValues.length > 0) out.push({ part: 'body', values: bodyValues });
  let next = 0;
  c.buttons.forEach((button, index) => {
    if (button.parameters === 0) return;
    const value = buttons[next++];
    if (value !== undefined) out.push({ part: 'button', index, type: BUTTON_KIND[button.type.toUpperCase()] ?? 'url', value });
  });
  return out;
}
