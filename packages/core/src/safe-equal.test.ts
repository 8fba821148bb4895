import { safeEqual } from './safe-equal';

describe('safeEqual', () => {
  it('compares strings and buffers by content, whatever their lengths', () => {
    expect(safeEqual('secret', 'secret')).toBe(true);
    expect(safeEqual('secret', 'secreT')).toBe(false);
    expect(safeEqual('short', 'a much longer value')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual(Buffer.from('ab'), Buffer.from('ab'))).toBe(true);
    expect(safeEqual(Buffer.from('ab'), 'ab')).toBe(true);
    expect(safeEqual(Buffer.from([0xff]), Buffer.from([0xfe]))).toBe(false);
    expect(safeEqual('ü€😀', 'ü€😀')).toBe(true);
  });
});
