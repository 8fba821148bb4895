import { HANDOFF_REASONS, handoffReasonOf } from './handoff.js';

describe('handoffReasonOf', () => {
  it('keeps canonical reasons', () => {
    for (const r of HANDOFF_REASONS) expect(handoffReasonOf(r)).toBe(r);
  });
  it('maps the older texts of the pipeline', () => {
    expect(handoffReasonOf('llm_unavailable')).toBe('error');
    expect(handoffReasonOf('chatwoot agent replied')).toBe('business_reply');
    expect(handoffReasonOf('business message')).toBe('business_reply');
    expect(handoffReasonOf('taken over in the console')).toBe('paused');
  });
  it('treats free text (the agent tool) as the agent decision', () => {
    expect(handoffReasonOf('refund over 500 EUR')).toBe('agent_decision');
    expect(handoffReasonOf(undefined)).toBe('agent_decision');
  });
});
