import { normalizeIdentifier } from '@switchboard/core';
import { CsvSyntaxError, parseCsv, peopleFromCsv } from './csv';

describe('identifier normalization', () => {
  it('reduces phone numbers and wa_ids to E.164 digits, so both match', () => {
    expect(normalizeIdentifier('phone', '+49 (151) 123-45.67')).toBe('491511234567');
    expect(normalizeIdentifier('phone', '0049 151 1234567')).toBe('491511234567');
    expect(normalizeIdentifier('wa_id', '491511234567')).toBe('491511234567');
    expect(normalizeIdentifier('phone', 'call me')).toBeUndefined();
    expect(normalizeIdentifier('phone', '+0123')).toBeUndefined();
  });
  it('matches usernames without @ and case-insensitively', () => {
    expect(normalizeIdentifier('username', '@Anna_Shop')).toBe('anna_shop');
    expect(normalizeIdentifier('username', 'anna shop')).toBeUndefined();
    expect(normalizeIdentifier('telegram_id', ' -100123 ')).toBe('-100123');
    expect(normalizeIdentifier('telegram_id', '12a')).toBeUndefined();
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes, line breaks, CRLF and a BOM', () => {
    const rows = parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\n"multi\nline",z\n');
    expect(rows).toEqual([
      { row: 1, fields: ['a', 'b'] },
      { row: 2, fields: ['x, y', 'say "hi"'] },
      { row: 4, fields: ['multi\nline', 'z'] },
    ]);
  });
  it('refuses an unterminated quote and a stray quote with the row', () => {
    expect(() => parseCsv('a,b\n"open,x\n')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('a,b\nx"y,z\n')).toThrow(/row 2/);
  });
});

describe('peopleFromCsv', () => {
  it('turns rows into people with identifiers and attributes; ids derived when absent and stable', () => {
    const csv = 'id,role,name,phone,username,externalId,attr.tier\nanna,staff,Anna,+49 151 1234567,@Anna,,\n,customer,Bob,34600111222;34600111333,,C-17,gold\n';
    const { entries, errors } = peopleFromCsv(csv);
    expect(errors).toEqual([]);
    expect(entries[0]).toMatchObject({ row: 2, id: 'anna', input: { account: 'default', role: 'staff', name: 'Anna', identifiers: [{ kind: 'phone', value: '491511234567' }, { kind: 'username', value: 'anna' }] } });
    expect(entries[1]).toMatchObject({ row: 3, input: { role: 'customer', externalId: 'C-17', attributes: { tier: 'gold' } } });
    expect(entries[1]!.input.identifiers).toHaveLength(2);
    expect(peopleFromCsv(csv).entries[1]!.id).toBe(entries[1]!.id);
  });
  it('reports every bad row with its number and what is wrong', () => {
    const csv = 'role,phone,language\nstaff,not a phone,en\nGuest!,491511234567,en\ncustomer,491511234568\ncustomer,491511234569,english\n';
    const { entries, errors } = peopleFromCsv(csv);
    expect(entries).toEqual([]);
    expect(errors.map((e) => e.row)).toEqual([2, 3, 4, 5]);
    expect(errors[0]!.problems.join()).toMatch(/not a valid phone/);
    expect(errors[2]!.problems.join()).toMatch(/expected 3 fields/);
  });
  it('refuses unknown columns and a missing role column in the header', () => {
    expect(peopleFromCsv('role,phnoe\nstaff,1\n').errors).toEqual([{ row: 1, problems: [expect.stringContaining('phnoe')] }]);
    expect(peopleFromCsv('name\nAnna\n').errors[0]!.problems).toContain('a role column is required');
    expect(peopleFromCsv('').errors[0]!.row).toBe(1);
  });
});
