import type { TemplateSendRequest } from '@switchboard/core';

/**
 * The template command of the mirror inbox. Chatwoot's own template sending (`template_params` on
 * a message) exists only for its native WhatsApp inbox, which sends through Meta itself; an API
 * inbox (the mirror) has no template picker that reaches its webhook. So an agent types a command,
 * as a private note (or a reply — it is never delivered as text):
 *
 *     /template <name> <language> [value | value | …]
 *     /template order_update en_US Ana | A-1
 *     /template welcome de first_name=Ana | code=SAVE10
 *
 * Values separated by `|` fill the body in order; `name=value` items fill a named template. Header
 * and button values need the HTTP API (`POST /api/v1/messages`).
 */

/** The command's keyword (case-insensitive, at the start of the message). */
export const TEMPLATE_COMMAND = '/template';

/** The result of {@link parseTemplateCommand}. */
export type TemplateCommand = { readonly ok: true; readonly request: TemplateSendRequest } | { readonly ok: false; readonly message: string };

/** How to write the command (answered with every syntax problem). */
export const TEMPLATE_COMMAND_USAGE = 'usage: /template <name> <language> [value | value | …] (or name=value items for named variables), e.g. /template order_update en_US Ana | A-1';

/** Whether a message is the template command (its first word is `/template`). */
export function isTemplateCommand(text: string): boolean {
  const first = text.trimStart().split(/\s+/, 1)[0] ?? '';
  return first.toLowerCase() === TEMPLATE_COMMAND;
}

/** Parses the command; undefined when the text is not one. */
export function parseTemplateCommand(text: string): TemplateCommand | undefined {
  if (!isTemplateCommand(text)) return undefined;
  const rest = text.trimStart().slice(TEMPLATE_COMMAND.length).trim();
  const m = /^(\S+)\s+(\S+)(?:\s+([\s\S]*))?$/.exec(rest);
  if (!m) return { ok: false, message: `the template name and language are missing; ${TEMPLATE_COMMAND_USAGE}` };
  const [, name, language, tail] = m as unknown as [string, string, string, string | undefined];
  if (!/^[a-z0-9_]{1,512}$/.test(name)) return { ok: false, message: `"${name}" is not a template name (lowercase letters, digits and _); ${TEMPLATE_COMMAND_USAGE}` };
  if (!/^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$/.test(language)) return { ok: false, message: `"${language}" is not a language code such as en_US or de; ${TEMPLATE_COMMAND_USAGE}` };
  const items = tail?.trim() ? tail.split('|').map((v) => v.trim()) : [];
  if (items.some((v) => v === '')) return { ok: false, message: `an empty value between | separators; ${TEMPLATE_COMMAND_USAGE}` };
  if (items.length === 0) return { ok: true, request: { name, language } };
  const named = items.map((v) => /^([A-Za-z0-9_]{1,64})\s*=\s*([\s\S]+)$/.exec(v));
  if (named.every((n) => n !== null)) {
    return { ok: true, request: { name, language, params: Object.fromEntries(named.map((n) => [n[1]!, n[2]!.trim()])) } };
  }
  return { ok: true, request: { name, language, params: items } };
}
