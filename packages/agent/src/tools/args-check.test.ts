import { checkArgs } from './args-check.js';

const schema = {
  type: 'object' as const,
  properties: {
    orderId: { type: 'string' },
    qty: { type: 'integer' },
    price: { type: 'number' },
    gift: { type: 'boolean' },
    size: { type: 'string', enum: ['S', 'M', 'L'] },
    tags: { type: 'array' },
    note: { type: ['string', 'null'] },
  },
  required: ['orderId'],
};

describe('checkArgs', () => {
  it('accepts valid arguments and ignores unknown ones', () => {
    expect(checkArgs(schema, { orderId: 'A1', qty: 2, price: 9.5, gift: false, size: 'M', tags: [], note: null, extra: 1 })).toEqual([]);
  });
  it('reports missing, mistyped and out-of-enum arguments in words the model can act on', () => {
    expect(checkArgs(schema, { qty: 1.5, price: 'cheap', gift: 'yes', size: 'XL', tags: 'a', note: 3 })).toEqual([
      'missing required argument "orderId"',
      'argument "qty" must be of type integer',
      'argument "price" must be of type number',
      'argument "gift" must be of type boolean',
      'argument "size" must be one of "S", "M", "L"',
      'argument "tags" must be of type array',
      'argument "note" must be of type string or null',
    ]);
  });
});
