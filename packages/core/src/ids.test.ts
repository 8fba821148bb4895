import { parsePartCorrelation, partCorrelation } from './ids';

describe('part correlation (WhatsApp biz_opaque_callback_data)', () => {
  it('round-trips outbound id and part, including ids that contain #', () => {
    expect(parsePartCorrelation(partCorrelation('out-whatsapp-1-2', 3))).toEqual({ outboundId: 'out-whatsapp-1-2', part: 3 });
    expect(parsePartCorrelation(partCorrelation('a#b', 0))).toEqual({ outboundId: 'a#b', part: 0 });
  });

  it('ignores the fallback template, foreign and absent values', () => {
    expect(parsePartCorrelation(partCorrelation('out-1', 'fallback'))).toBeUndefined();
    expect(parsePartCorrelation('campaign-42')).toBeUndefined();
    expect(parsePartCorrelation('#1')).toBeUndefined();
    expect(parsePartCorrelation(undefined)).toBeUndefined();
  });
});
