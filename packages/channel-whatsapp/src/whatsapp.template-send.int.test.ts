import { startFakeGraph, type FakeGraph } from '@switchboard/testkit';
import { GraphClient } from './whatsapp.client.js';
import { createWhatsAppOutboundAdapter } from './whatsapp.outbound.js';
import { parseTemplate, resolveTemplateComponents, validateTemplate } from './whatsapp.templates.js';

/** Templates as `GET /{waba-id}/message_templates` returns them. */
const ORDER_UPDATE = parseTemplate({
  id: '101',
  name: 'order_update',
  language: 'en_US',
  status: 'APPROVED',
  category: 'UTILITY',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}' },
    { type: 'BODY', text: 'Hi {{1}}, your order {{2}} ships {{3}}.' },
    { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Stop' }, { type: 'URL', text: 'Track', url: 'https://shop.example/track/{{1}}' }] },
  ],
})!;
const WELCOME = parseTemplate({
  id: '102',
  name: 'welcome',
  language: 'de',
  status: 'APPROVED',
  category: 'MARKETING',
  parameter_format: 'NAMED',
  components: [
    { type: 'HEADER', format: 'DOCUMENT' },
    { type: 'BODY', text: 'Hallo {{first_name}}, dein Code ist {{code}}.' },
    { type: 'BUTTONS', buttons: [{ type: 'COPY_CODE', example: 'SAVE10' }] },
  ],
})!;

describe('template sends with parameters', () => {
  let fake: FakeGraph;
  beforeAll(async () => {
    fake = await startFakeGraph();
  });
  afterAll(() => fake.close());

  const send = async (template: NonNullable<ReturnType<typeof parseTemplate>>, params: Parameters<typeof resolveTemplateComponents>[1], to: string) => {
    expect(validateTemplate({ templates: [template] }, { name: template.name, language: template.language, ...(params ? { params } : {}) })).toMatchObject({ ok: true });
    const adapter = createWhatsAppOutboundAdapter({ client: new GraphClient({ baseUrl: fake.url, accessToken: 'token' }) });
    const ref = { channel: 'whatsapp' as const, account: '106540352242922', userId: to, address: to };
    const parts = adapter.render({ text: '', template: { name: template.name, language: template.language, components: resolveTemplateComponents(template, params) } }, ref);
    expect(parts).toHaveLength(1);
    await adapter.sendPart(ref, parts[0]!, { outboundId: `tpl-${to}`, partIndex: 0, partCount: 1 });
    return fake.sent.filter((m) => m.to === `+${to}`).map((m) => m.body['template']);
  };

  it('positional header, body and URL button values go out as Graph components', async () => {
    const [template] = await send(ORDER_UPDATE, { header: ['A-1'], body: ['Ana', 'A-1', 'today'], buttons: ['A-1'] }, '15550000001');
    expect(template).toEqual({
      name: 'order_update',
      language: { code: 'en_US' },
      components: [
        { type: 'header', parameters: [{ type: 'text', text: 'A-1' }] },
        { type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'A-1' }, { type: 'text', text: 'today' }] },
        // the URL button is the template's second button: its index is 1
        { type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'A-1' }] },
      ],
    });
  });

  it('named body values carry parameter_name; a document header is a link; a copy-code button a coupon_code', async () => {
    const [template] = await send(WELCOME, { header: ['https://files.example/terms.pdf'], body: { code: 'SAVE10', first_name: 'Ana' }, buttons: ['SAVE10'] }, '15550000002');
    expect(template).toEqual({
      name: 'welcome',
      language: { code: 'de' },
      components: [
        { type: 'header', parameters: [{ type: 'document', document: { link: 'https://files.example/terms.pdf' } }] },
        { type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Ana' }, { type: 'text', parameter_name: 'code', text: 'SAVE10' }] },
        { type: 'button', sub_type: 'copy_code', index: '0', parameters: [{ type: 'coupon_code', coupon_code: 'SAVE10' }] },
      ],
    });
  });

  it('a template without variables has no components', async () => {
    const plain = parseTemplate({ name: 'hello', language: 'en_US', status: 'APPROVED', category: 'UTILITY', components: [{ type: 'BODY', text: 'Hello!' }] })!;
    expect(await send(plain, undefined, '15550000003')).toEqual([{ name: 'hello', language: { code: 'en_US' } }]);
  });
});
