import { createHmac } from 'node:crypto';
import { describeGraphMessage } from './fake-graph';
import { describeKfMessage } from './fake-wecom';
import { metaJson, metaSignature } from './sandbox';

describe('sandbox wire helpers', () => {
  it('serialises like Meta (non-ASCII \\u-escaped) and signs the exact bytes', () => {
    const raw = metaJson({ text: { body: 'olá 你好 👋' } });
    expect(raw).toBe('{"text":{"body":"ol\\u00e1 \\u4f60\\u597d \\ud83d\\udc4b"}}');
    expect(JSON.parse(raw)).toEqual({ text: { body: 'olá 你好 👋' } });
    expect(metaSignature(raw, 'k')).toBe(`sha256=${createHmac('sha256', 'k').update(raw).digest('hex')}`);
  });

  it('shows Graph sends as the customer would see them', () => {
    expect(describeGraphMessage({ type: 'text', text: { body: 'hi' } })).toEqual({ text: 'hi' });
    expect(describeGraphMessage({ type: 'image', image: { link: 'https://x/y.png', caption: 'c' } })).toEqual({ text: 'c', media: { kind: 'image', url: 'https://x/y.png' } });
    expect(
      describeGraphMessage({ type: 'interactive', interactive: { type: 'button', body: { text: 'Pick' }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'Yes' } }, { type: 'reply', reply: { id: 'b', title: 'No' } }] } } }).text,
    ).toBe('Pick\n[ Yes ] [ No ]');
    expect(describeGraphMessage({ type: 'template', template: { name: 'hello', language: { code: 'en' } } }).text).toBe('(template hello / en)');
  });

  it('shows WeCom sends as the customer would see them', () => {
    expect(describeKfMessage({ msgtype: 'text', text: { content: '你好' } })).toEqual({ text: '你好' });
    expect(describeKfMessage({ msgtype: 'image', image: { media_id: 'm1' } })).toEqual({ text: '', media: { kind: 'image', url: '/sandbox/media/m1' } });
    expect(describeKfMessage({ msgtype: 'msgmenu', msgmenu: { head_content: 'Choose', list: [{ type: 'click', click: { id: '1', content: 'A' } }], tail_content: 'thanks' } }).text).toBe('Choose\n[ A ]\nthanks');
  });
});
