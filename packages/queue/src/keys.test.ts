import { shortHash } from '@switchboard/core';
import { gatewayKeys } from './keys';

describe('gatewayKeys', () => {
  const k = gatewayKeys('{gw}');

  it('names keys exactly as before the registry held them all (stored state stays readable across a deploy)', () => {
    expect(k.lastReply('c1')).toBe('{gw}:sb:lastout:c1');
    expect(k.pairRate('o1')).toBe('{gw}:sb:pairrate:o1');
    expect(k.owners()).toBe('{gw}:sb:owners');
    expect(k.stats('whatsapp', 'in', 42)).toBe('{gw}:sb:stats:whatsapp:in:42');
    expect(k.agent.memory('c1')).toBe('{gw}:sb:agent:mem:c1');
    expect(k.agent.rateLimiterPrefix()).toBe('{gw}:sb:agent:rl');
    expect(k.media.transcript('whatsapp-abc', 'id')).toBe(`{gw}:sb:media:transcript:whatsapp-abc:${shortHash('id', 32)}`);
    expect(k.media.whatsappUpload('pn', 'u')).toBe(`{gw}:sb:media:wa-upload:${shortHash('pn|u', 32)}`);
    expect(k.media.wechatUpload('u')).toBe(`{gw}:sb:media:wx-upload:${shortHash('u', 32)}`);
    expect(k.chatwoot.mirrorByConversation(1, 2)).toBe('{gw}:sb:cw:mconv:1:2');
    expect(k.chatwoot.mirrorLock('n')).toBe(`{gw}:sb:cw:lock:${shortHash('n', 24)}`);
    expect(k.chatwoot.webhookEvent('e')).toBe('{gw}:sb:cw:evt:e');
    expect(k.wechat.syncLock('corp', undefined)).toBe('{gw}:sb:wechat:sync-lock:corp:_all');
    expect(k.wechat.allowance('kf', 'u').sent).toBe(`{gw}:sb:wechat:allow:kf:${shortHash('u', 16)}:sent`);
    expect(k.wechat.tokenBlocked('corp', 'h')).toBe('{gw}:sb:wechat:token-blocked:corp:h');
  });

  it('keeps every key under the (hash-tagged) prefix', () => {
    const all: string[] = [];
    const walk = (o: Record<string, unknown>) => {
      for (const [name, v] of Object.entries(o)) {
        if (name === 'ns') continue;
        if (typeof v === 'function') {
          const out = (v as (...a: unknown[]) => unknown)('a', 'b', 'c');
          if (typeof out === 'string') all.push(out);
          else all.push(...Object.values(out as Record<string, string>));
        } else if (v && typeof v === 'object') walk(v as Record<string, unknown>);
      }
    };
    walk(k);
    expect(all.length).toBeGreaterThan(30);
    for (const key of all) expect(key.startsWith('{gw}:sb:')).toBe(true);
  });
});
