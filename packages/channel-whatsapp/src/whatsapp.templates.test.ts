import { parseTemplate, textParameters, validateTemplate, type WhatsAppTemplate } from './whatsapp.templates.js';

/** Template entries as `GET /{waba-id}/message_templates` returns them. */
const ORDER_UPDATE = {
  id: '101',
  name: 'order_update',
  language: 'en_US',
  status: 'APPROVED',
  category: 'UTILITY',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}', example: { header_text: ['A-1'] } },
    { type: 'BODY', text: 'Hi {{1}}, your order {{2}} ships {{3}}. Thanks {{1}}!', example: { body_text: [['Ana', 'A-1', 'today']] } },
    { type: 'FOOTER', text: 'Reply STOP to opt out' },
    {
      type: 'BUTTONS',
      buttons: [
        { type: 'URL', text: 'Track', url: 'https://shop.example/track/{{1}}', example: ['https://shop.example/track/A-1'] },
        { type: 'QUICK_REPLY', text: 'Stop' },
        { type: 'URL', text: 'Help', url: 'https://shop.example/help' },
      ],
    },
  ],
};
const WELCOME_NAMED = {
  id: '102',
  name: 'welcome',
  language: 'de',
  status: 'APPROVED',
  category: 'MARKETING',
  parameter_format: 'NAMED',
  components: [
    { type: 'HEADER', format: 'IMAGE', example: { header_handle: ['https://x/y.png'] } },
    { type: 'BODY', text: 'Hallo {{first_name}}, dein Code ist {{code}}.', example: { body_text_named_params: [{ param_name: 'first_name', example: 'Ana' }] } },
    { type: 'BUTTONS', buttons: [{ type: 'COPY_CODE', example: 'SAVE10' }] },
  ],
};
const WELCOME_EN_PENDING = { ...WELCOME_NAMED, id: '103', language: 'en', status: 'PENDING' };

const catalogue = { templates: [ORDER_UPDATE, WELCOME_NAMED, WELCOME_EN_PENDING].map((t) => parseTemplate(t)!) };

describe('template components', () => {
  it('parses header, body, footer and buttons with parameter counts', () => {
    const t = parseTemplate(ORDER_UPDATE)!;
    expect(t).toMatchObject({ id: '101', name: 'order_update', language: 'en_US', status: 'APPROVED', category: 'UTILITY' });
    expect(t.components.header).toMatchObject({ format: 'TEXT', parameterCount: 1, parameters: { format: 'positional', names: ['1'] } });
    // {{1}} used twice counts once
    expect(t.components.body).toMatchObject({ parameterCount: 3, parameters: { format: 'positional', names: ['1', '2', '3'] } });
    expect(t.components.footer).toEqual({ text: 'Reply STOP to opt out' });
    expect(t.components.buttons).toEqual([
      { type: 'URL', text: 'Track', parameters: 1 },
      { type: 'QUICK_REPLY', text: 'Stop', parameters: 0 },
      { type: 'URL', text: 'Help', parameters: 0 },
    ]);
  });

  it('parses named parameters, media headers and copy-code buttons', () => {
    const t: WhatsAppTemplate = parseTemplate(WELCOME_NAMED)!;
    expect(t.components.header).toMatchObject({ format: 'IMAGE', parameterCount: 1, parameters: { format: 'media' } });
    expect(t.components.body?.parameters).toEqual({ format: 'named', names: ['first_name', 'code'] });
    expect(t.components.buttons).toEqual([{ type: 'COPY_CODE', parameters: 1 }]);
  });

  it('skips entries without name, language or status and ignores malformed components', () => {
    expect(parseTemplate({ name: 'x', language: 'en' })).toBeUndefined();
    expect(parseTemplate({ name: 'x', language: 'en', status: 'approved', components: [42, { type: 'BODY', text: 'Hi' }] })).toMatchObject({ status: 'APPROVED', category: 'UNKNOWN', components: { body: { parameterCount: 0 }, buttons: [] } });
    expect(textParameters('{{ 1 }} and {{2}}')).toEqual({ format: 'positional', names: ['1', '2'] });
  });
});

describe('validateTemplate', () => {
  it('accepts an approved template with the right parameters', () => {
    expect(validateTemplate(catalogue, { name: 'order_update', language: 'en_US', params: { header: ['A-1'], body: ['Ana', 'A-1', 'today'], buttons: ['A-1'] } })).toMatchObject({ ok: true, template: { id: '101' } });
    expect(validateTemplate(catalogue, { name: 'welcome', language: 'de', params: { header: ['https://x/y.png'], body: { first_name: 'Ana', code: 'X1' }, buttons: ['SAVE10'] } })).toMatchObject({ ok: true });
  });

  it('refuses an unknown name', () => {
    expect(validateTemplate(catalogue, { name: 'nope', language: 'en_US' })).toEqual({ ok: false, code: 'unknown_template', message: 'no template named "nope" in this account\'s catalogue' });
  });

  it('refuses a language the template does not have, naming the available ones', () => {
    const r = validateTemplate(catalogue, { name: 'welcome', language: 'fr' });
    expect(r).toMatchObject({ ok: false, code: 'language_unavailable', details: ['de', 'en'] });
    expect(!r.ok && r.message).toBe('template "welcome" is not available in fr; available: de, en');
  });

  it('refuses a template that is not approved', () => {
    expect(validateTemplate(catalogue, { name: 'welcome', language: 'en' })).toMatchObject({ ok: false, code: 'not_approved', message: 'template "welcome" (en) is PENDING, only APPROVED templates can be sent' });
  });

  it('refuses a wrong parameter count per part', () => {
    const r = validateTemplate(catalogue, { name: 'order_update', language: 'en_US', params: ['Ana', 'A-1'] });
    expect(r).toMatchObject({ ok: false, code: 'parameter_mismatch', details: ['header: 1 parameter expected, 0 given', 'body: 3 parameters expected, 2 given', 'buttons: 1 parameter expected, 0 given'] });
  });

  it('refuses missing or unknown named parameters and a positional list for a media header mismatch', () => {
    const r = validateTemplate(catalogue, { name: 'welcome', language: 'de', params: { body: { first_name: 'Ana', nickname: 'A' }, buttons: ['SAVE10'] } });
    expect(r).toMatchObject({ ok: false, code: 'parameter_mismatch', details: ['header: one media parameter (a link or media id) expected', 'body: missing code; unknown nickname'] });
  });

  it('refuses named values for a positional template', () => {
    const r = validateTemplate(catalogue, { name: 'order_update', language: 'en_US', params: { header: ['A-1'], body: { name: 'Ana' }, buttons: ['A-1'] } });
    expect(r).toMatchObject({ ok: false, code: 'parameter_mismatch', details: ['body: the template uses positional parameters; give a list of 3'] });
  });
});
