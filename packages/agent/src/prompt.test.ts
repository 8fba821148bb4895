import { parseAgentConfig } from './config.js';
import { buildSystemPrompt, describeNow } from './prompt.js';

const now = Date.UTC(2026, 10, 22, 23, 30);

describe('system prompt', () => {
  const config = parseAgentConfig(
    { businessName: 'Acme', timezone: 'Asia/Shanghai', channels: { chatwoot: { instructions: 'Mention the help centre.', maxReplyChars: 800 } } },
    't',
    {},
  );
  it('has a per-channel style', () => {
    expect(buildSystemPrompt(config, { channel: 'whatsapp', account: 'a', userId: 'u' }, now)).toMatch(/WhatsApp.*short/s);
    expect(buildSystemPrompt(config, { channel: 'wechat-kf', account: 'a', userId: 'u' }, now)).toMatch(/plain text only/);
    const cw = buildSystemPrompt(config, { channel: 'chatwoot', account: 'a', userId: 'u' }, now);
    expect(cw).toMatch(/Markdown/);
    expect(cw).toContain('Mention the help centre.');
    expect(cw).toContain('under 800 characters');
  });
  it('has the persona, language policy, date/time in the configured zone and the display name', () => {
    const p = buildSystemPrompt(config, { channel: 'whatsapp', account: 'a', userId: 'u', displayName: 'Wei' }, now);
    expect(p).toContain('assistant of Acme');
    expect(p).toMatch(/language of the customer/);
    expect(p).toContain('Monday, 23 November 2026');
    expect(p).toContain('07:30');
    expect(p).toContain('"Wei"');
    expect(describeNow(now, 'UTC')).toBe('Sunday, 22 November 2026 at 23:30 (UTC)');
  });
});
