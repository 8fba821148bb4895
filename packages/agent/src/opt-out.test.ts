import { parseAgentConfig } from './config.js';
import { OptOutKeywords } from './opt-out.js';

describe('opt-out keywords', () => {
  const builtin = new OptOutKeywords(parseAgentConfig({}, 't', {}).optOut);

  it('matches the whole message without case, spaces or punctuation', () => {
    for (const t of ['STOP', 'stop', ' Stop! ', 'S.T.O.P', 'Unsubscribe', '退订', '退订。']) expect(builtin.match(t)).toBe('opt_out');
    for (const t of ['START', 'start.', ' Start ']) expect(builtin.match(t)).toBe('opt_in');
  });

  it('leaves every other message to the bot', () => {
    for (const t of ['stop sending me the wrong size', 'please stop', 'how do I start?', '我要退订吗', '', '!!!']) expect(builtin.match(t)).toBeUndefined();
  });

  it('adds configured keywords, and can be turned off', () => {
    const custom = new OptOutKeywords(parseAgentConfig({ optOut: { keywords: ['Abmelden', '取消订阅'], optInKeywords: ['Anmelden'] } }, 't', {}).optOut);
    expect(custom.match('abmelden')).toBe('opt_out');
    expect(custom.match('取消订阅')).toBe('opt_out');
    expect(custom.match('STOP')).toBe('opt_out');
    expect(custom.match('Anmelden!')).toBe('opt_in');
    expect(new OptOutKeywords(parseAgentConfig({ optOut: { enabled: false } }, 't', {}).optOut).match('STOP')).toBeUndefined();
  });
});
