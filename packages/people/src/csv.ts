import { PERSON_IDENTIFIER_KINDS } from '@switchboard/core';
import { derivedPersonId } from './directory.js';
import { issueLines, PersonId, PersonInput } from './person.schema.js';

/** Thrown when the text is not CSV (an unterminated quote, a stray quote). */
export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly row: number,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

/**
 * Parses RFC 4180 CSV: comma-separated fields, `"` quoting with `""` as a quote, CRLF or LF line
 * ends, a UTF-8 BOM ignored, blank lines skipped. Returns the records with their row number (the
 * header is row 1; a quoted field may span lines, so a row is a record, not a line).
 */
export function parseCsv(text: string): Array<{ row: number; fields: string[] }> {
  const out: Array<{ row: number; fields: string[] }> = [];
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let row = 1;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !fieldStarted)) out.push({ row, fields });
    row += 1;
    fields = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < src.length; i += 1) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 1;
        } else {
          quoted = false;
          const next = src[i + 1];
          if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') throw new CsvSyntaxError(`row ${row}: text after a closing quote`, row);
        }
      } else field += c;
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new CsvSyntaxError(`row ${row}: a quote inside an unquoted field`, row);
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      fieldStarted = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i += 1;
      endRecord();
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) throw new CsvSyntaxError(`row ${row}: unterminated quoted field`, row);
  if (field !== '' || fields.length > 0 || fieldStarted) endRecord();
  return out;
}

/** A row the import could not take, with what is wrong. */
export interface CsvRowError {
  readonly row: number;
  readonly problems: string[];
}

/** An import entry: the row, the person id (given or derived) and the parsed person. */
export interface CsvPersonRow {
  readonly row: number;
  readonly id: string;
  readonly input: PersonInput;
}

const BASE_COLUMNS = ['id', 'account', 'role', 'name', 'externalid', 'external_id', 'customer_id', 'language'] as const;

/**
 * Turns a CSV of people into directory entries. Header row required; columns (case-insensitive):
 * `id` (optional: derived from account and external id or first identifier), `account`
 * (default `defaultAccount`), `role`, `name`, `externalId` (or `external_id`, `customer_id`),
 * `language`, one column per identifier kind (`phone`, `wa_id`, `username`,
 * `wechat_external_userid`, `telegram_id`; several values separated by `;`) and `attr.<key>`
 * columns for attributes. Unknown columns are an error (a typo must not drop data silently).
 */
export function peopleFromCsv(text: string, defaultAccount = 'default'): { entries: CsvPersonRow[]; errors: CsvRowError[] } {
  const records = parseCsv(text);
  const header = records.shift();
  if (!header) return { entries: [], errors: [{ row: 1, problems: ['the file is empty: a header row is required'] }] };
  const columns = header.fields.map((h) => h.trim());
  const lower = columns.map((c) => c.toLowerCase());
  const unknown = columns.filter((c, i) => !(BASE_COLUMNS as readonly string[]).includes(lower[i]!) && !(PERSON_IDENTIFIER_KINDS as readonly string[]).includes(lower[i]!) && !/^attr\.[A-Za-z0-9_.-]{1,64}$/.test(c));
  const dupes = lower.filter((c, i) => lower.indexOf(c) !== i);
  if (unknown.length || dupes.length || !lower.includes('role')) {
    return {
      entries: [],
      errors: [
        {
          row: header.row,
          problems: [
            ...(unknown.length ? [`unknown column(s): ${unknown.map((u) => u.slice(0, 40)).join(', ')}`] : []),
            ...(dupes.length ? [`column(s) given twice: ${[...new Set(dupes)].join(', ')}`] : []),
            ...(!lower.includes('role') ? ['a role column is required'] : []),
          ],
        },
      ],
    };
  }
  const entries: CsvPersonRow[] = [];
  const errors: CsvRowError[] = [];
  const ids = new Map<string, number>();
  for (const { row, fields } of records) {
    if (fields.length !== columns.length) {
      errors.push({ row, problems: [`expected ${columns.length} fields, found ${fields.length}`] });
      continue;
    }
    const cell = (name: string): string | undefined => {
      const i = lower.indexOf(name);
      const v = i >= 0 ? fields[i]?.trim() : undefined;
      return v ? v : undefined;
    };
    const attributes = Object.fromEntries(columns.flatMap((c, i) => (c.startsWith('attr.') && fields[i]?.trim() ? [[c.slice(5), fields[i].trim()]] : [])));
    const identifiers = PERSON_IDENTIFIER_KINDS.flatMap((kind) => (cell(kind) ?? '').split(';').map((v) => v.trim()).filter(Boolean).map((value) => ({ kind, value })));
    const candidate = {
      account: cell('account') ?? defaultAccount,
      role: cell('role'),
      ...(cell('name') ? { name: cell('name') } : {}),
      ...((cell('externalid') ?? cell('external_id') ?? cell('customer_id')) ? { externalId: cell('externalid') ?? cell('external_id') ?? cell('customer_id') } : {}),
      ...(cell('language') ? { language: cell('language') } : {}),
      attributes,
      identifiers,
    };
    const parsed = PersonInput.safeParse(candidate);
    const givenId = cell('id');
    const idOk = givenId === undefined ? undefined : PersonId.safeParse(givenId);
    const problems = [...(parsed.success ? [] : issueLines(parsed.error)), ...(idOk && !idOk.success ? [`id: ${issueLines(idOk.error).join('; ')}`] : [])];
    if (!parsed.success || problems.length) {
      errors.push({ row, problems });
      continue;
    }
    const key = parsed.data.externalId ? `ext:${parsed.data.externalId}` : parsed.data.identifiers[0] ? `${parsed.data.identifiers[0].kind}:${parsed.data.identifiers[0].value}` : undefined;
    const id = givenId ?? (key ? derivedPersonId(parsed.data.account, key) : undefined);
    if (!id) {
      errors.push({ row, problems: ['a row without id needs an externalId or an identifier'] });
      continue;
    }
    const first = ids.get(id);
    if (first !== undefined) {
      errors.push({ row, problems: [`the same person as row ${first}`] });
      continue;
    }
    ids.set(id, row);
    entries.push({ row, id, input: parsed.data });
  }
  return { entries, errors };
}
