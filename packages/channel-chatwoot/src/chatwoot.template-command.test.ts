import { isTemplateCommand, parseTemplateCommand } from './chatwoot.template-command.js';

describe('the mirror inbox template command', () => {
  it('recognises the command by its first word only', () => {
    expect(isTemplateCommand('/template order_update en_US')).toBe(true);
    expect(isTemplateCommand('  /TEMPLATE x en')).toBe(true);
    expect(isTemplateCommand('please use /template')).toBe(false);
    expect(isTemplateCommand('/templates')).toBe(false);
    expect(parseTemplateCommand('hello')).toBeUndefined();
  });

  it('reads positional values, named values and none', () => {
    expect(parseTemplateCommand('/template order_update en_US Ana | A-1')).toEqual({ ok: true, request: { name: 'order_update', language: 'en_US', params: ['Ana', 'A-1'] } });
    expect(parseTemplateCommand('/template welcome de first_name=Ana | code = SAVE10')).toEqual({ ok: true, request: { name: 'welcome', language: 'de', params: { first_name: 'Ana', code: 'SAVE10' } } });
    expect(parseTemplateCommand('/template hello_world en_US')).toEqual({ ok: true, request: { name: 'hello_world', language: 'en_US' } });
    // a value that merely contains = next to plain values stays a value
    expect(parseTemplateCommand('/template t en a=b | plain')).toEqual({ ok: true, request: { name: 't', language: 'en', params: ['a=b', 'plain'] } });
  });

  it('explains what is wrong', () => {
    expect(parseTemplateCommand('/template')).toMatchObject({ ok: false, message: expect.stringMatching(/name and language are missing.*usage/) });
    expect(parseTemplateCommand('/template Order en_US')).toMatchObject({ ok: false, message: expect.stringMatching(/not a template name/) });
    expect(parseTemplateCommand('/template order_update english!')).toMatchObject({ ok: false, message: expect.stringMatching(/not a language code/) });
    expect(parseTemplateCommand('/template order_update en_US Ana || A-1')).toMatchObject({ ok: false, message: expect.stringMatching(/empty value/) });
  });
});
