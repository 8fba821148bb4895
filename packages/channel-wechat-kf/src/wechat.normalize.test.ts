import { InboundEvent } from '@switchboard/core';
import { fixtureJson } from '@switchboard/testkit';
import { normalizeKfMessage, wechatEventId, type Normalized } from './wechat.normalize.js';

const KF = 'wkq8ZmDgAA7XbR2sVtLp0e1YcN4uKw9H';
const USER = 'wmq8ZmDgAAd3Kp7vX1yQ9sTz_Bn5LcEw';
const ctx = { receivedAt: 1767225600_000, openKfId: KF };

function msg(msgtype: string, body: unknown, extra: Record<string, unknown> = {}) {
  return { msgid: `id_${msgtype}`, open_kfid: KF, external_userid: USER, send_time: 1767225500, origin: 3, msgtype, [msgtype]: body, ...extra };
}
function event(ev: Record<string, unknown>, msgid = `ev_${String(ev['event_type'])}`) {
  return { msgid, send_time: 1767225500, origin: 4, msgtype: 'event', event: ev };
}
function one(n: Normalized) {
  expect(n.events).toHaveLength(1);
  // every normalized event is a valid core InboundEvent (the queue validates again)
  return InboundEvent.parse(n.events[0]);
}

describe('wechat sync_msg normalization', () => {
  it('normalizes the three items of the sync-msg-response fixture', () => {
    const page = fixtureJson<{ msg_list: unknown[] }>('wechat-kf', 'sync-msg-response.json');
    const [enter, text, image] = page.msg_list.map((m) => normalizeKfMessage(m, ctx));
    const s = one(enter!);
    expect(s).toMatchObject({ kind: 'signal', signal: 'session_started', conversation: { channel: 'wechat-kf', account: KF, userId: USER }, detail: { scene: 'store_qr', sceneParam: 'store_id=42' } });
    expect(enter!.actions).toEqual([{ type: 'welcome', code: 'WC3xN8yTq2LpV7kRz5FbJm1Hd9Gs4Ew', msgid: '7Kd2pQw9XbN4sLm1Rt6Vy8Hz3Fc5Gj0A', ref: { channel: 'wechat-kf', account: KF, userId: USER }, sentAt: 1767225540_000 }]);
    const t = one(text!);
    expect(t).toEqual({
      kind: 'message',
      eventId: `wx-${KF}-from_msgid_8302957166401228917`,
      providerMessageId: 'from_msgid_8302957166401228917',
      conversation: { channel: 'wechat-kf', account: KF, userId: USER },
      sentAt: 1767225575_000,
      receivedAt: ctx.receivedAt,
      content: { type: 'text', text: '你好，我想查一下订单 20260101-8842 的物流进度' },
      author: 'customer',
    });
    expect(text!.actions).toEqual([{ type: 'customer_wrote', ref: t.kind === 'message' ? t.conversation : undefined, sentAt: 1767225575_000, msgid: t.kind === 'message' ? t.providerMessageId : undefined }]);
    expect(one(image!)).toMatchObject({ kind: 'message', content: { type: 'image', media: { mediaId: '3a9ZkQmTr7XwLp2bN5vHc8Yd1Fs6Gj0eU4oRiKtWyAqMnBgC_VhJzPxE-SlDfOu' } } });
  });

  it('event ids are job-id safe and deterministic', () => {
    expect(wechatEventId('wk:1', 'a/b')).toBe('wx-wk_1-a_b');
    expect(wechatEventId(KF, 'x')).toBe(wechatEventId(KF, 'x'));
  });

  it.each([
    ['text with menu_id', msg('text', { content: 'yes', menu_id: '101' }), { type: 'text', text: 'yes', menuId: '101' }],
    ['voice', msg('voice', { media_id: 'v1' }), { type: 'audio', voice: true, media: { mediaId: 'v1', mimeType: 'audio/amr' } }],
    ['video', msg('video', { media_id: 'vd' }), { type: 'video', media: { mediaId: 'vd' } }],
    ['file', msg('file', { media_id: 'f1' }), { type: 'document', media: { mediaId: 'f1' } }],
    ['location', msg('location', { latitude: 23.1, longitude: 113.3, name: '广州塔', address: '广州市海珠区' }), { type: 'location', latitude: 23.1, longitude: 113.3, name: '广州塔', address: '广州市海珠区' }],
    ['link', msg('link', { title: 'T', desc: 'D', url: 'https://e.x/a', pic_url: 'https://e.x/p.png' }), { type: 'link', title: 'T', description: 'D', url: 'https://e.x/a' }],
    ['business_card', msg('business_card', { userid: 'zhangsan' }), { type: 'card', cardType: 'business_card', summary: 'business card of zhangsan' }],
    ['miniprogram', msg('miniprogram', { appid: 'wx1', title: '小程序', thumb_media_id: 't', pagepath: 'p' }), { type: 'card', cardType: 'miniprogram', summary: 'mini program: 小程序' }],
    ['channels_shop_product', msg('channels_shop_product', { product_id: 'p1', title: '茶杯', sales_price: '1999' }), { type: 'card', cardType: 'channels_shop_product', summary: 'product: 茶杯 (1999)' }],
    ['channels_shop_order', msg('channels_shop_order', { order_id: 'o1', product_titles: '茶杯', price_wording: '¥19.99', state: '待发货' }), { type: 'card', cardType: 'channels_shop_order', summary: 'order o1: 茶杯 ¥19.99 待发货' }],
    ['channels', msg('channels', { sub_type: 1, nickname: '视频号', title: '新品' }), { type: 'card', cardType: 'channels', summary: 'channels: 视频号 新品' }],
  ])('normalizes %s', (_name, raw, content) => {
    expect(one(normalizeKfMessage(raw, ctx))).toMatchObject({ kind: 'message', author: 'customer', content });
  });

  it('normalizes merged_msg items (msg_content is a JSON string)', () => {
    const raw = msg('merged_msg', {
      title: '聊天记录',
      item: [
        { send_time: 1767225000, msgtype: 'text', sender_name: '小王', msg_content: JSON.stringify({ text: { content: '第一条' } }) },
        { send_time: 1767225001, msgtype: 'image', sender_name: '小李', msg_content: JSON.stringify({ image: { media_id: 'x' } }) },
        { send_time: 1767225002, msgtype: 'text', sender_name: '小张', msg_content: 'not json' },
      ],
    });
    expect(one(normalizeKfMessage(raw, ctx))).toMatchObject({
      content: {
        type: 'merged',
        title: '聊天记录',
        items: [
          { sender: '小王', text: '第一条', sentAt: 1767225000_000 },
          { sender: '小李', text: '[image]' },
          { sender: '小张', text: '[text]' },
        ],
      },
    });
  });

  it('unknown message types become unsupported content, never dropped', () => {
    for (const t of ['meeting', 'schedule', 'note', 'brand_new_type']) {
      expect(one(normalizeKfMessage(msg(t, { x: 1 }), ctx))).toMatchObject({ kind: 'message', content: { type: 'unsupported', providerType: t } });
    }
  });

  it('origin 5 (a human servicer in the WeCom client) is a human_agent message, not a customer one', () => {
    const n = normalizeKfMessage(msg('text', { content: '我来处理' }, { origin: 5, servicer_userid: 'zhangsan' }), ctx);
    expect(one(n)).toMatchObject({ kind: 'message', author: 'human_agent', content: { type: 'text', text: '我来处理' } });
    expect(n.actions).toEqual([]);
  });

  it('msg_send_fail marks the outbound message failed with the mapped reason', () => {
    const n = normalizeKfMessage(event({ event_type: 'msg_send_fail', open_kfid: KF, external_userid: USER, fail_msgid: 'gwabc', fail_type: 6 }), ctx);
    expect(one(n)).toMatchObject({ kind: 'status', channel: 'wechat-kf', account: KF, providerMessageId: 'gwabc', status: 'failed', recipient: USER, errors: [{ code: 6, title: 'over the 5-message limit' }] });
  });

  it.each([
    [1, 'human_took_over'],
    [2, 'human_took_over'],
    [4, 'human_took_over'],
    [3, 'session_ended'],
    [9, 'info'],
  ])('session_status_change change_type %i → %s', (changeType, signal) => {
    const n = normalizeKfMessage(event({ event_type: 'session_status_change', open_kfid: KF, external_userid: USER, change_type: changeType, new_servicer_userid: 'lisi' }), ctx);
    expect(one(n)).toMatchObject({ kind: 'signal', signal, detail: { changeType } });
  });

  it('servicer_status_change is handled directly (1 receiving, 2 stopped)', () => {
    expect(normalizeKfMessage(event({ event_type: 'servicer_status_change', servicer_userid: 'lisi', status: 2, stop_type: 1, open_kfid: KF }), ctx)).toEqual({
      events: [],
      actions: [{ type: 'servicer_status', openKfId: KF, servicerUserId: 'lisi', receiving: false }],
    });
  });

  it('recall and reject-switch events are signals; unknown events are UnsupportedEvent', () => {
    expect(one(normalizeKfMessage(event({ event_type: 'user_recall_msg', open_kfid: KF, external_userid: USER, recall_msgid: 'r1' }), ctx))).toMatchObject({ signal: 'recalled', detail: { by: 'customer', recallMsgid: 'r1' } });
    expect(one(normalizeKfMessage(event({ event_type: 'servicer_recall_msg', open_kfid: KF, external_userid: USER, recall_msgid: 'r2', servicer_userid: 's' }), ctx))).toMatchObject({ signal: 'recalled', detail: { by: 'servicer' } });
    expect(one(normalizeKfMessage(event({ event_type: 'reject_customer_msg_switch_change', open_kfid: KF, external_userid: USER, reject_switch: 1 }), ctx))).toMatchObject({ signal: 'info', detail: { rejectSwitch: 1 } });
    expect(one(normalizeKfMessage(event({ event_type: 'future_event', open_kfid: KF, external_userid: USER }), ctx))).toMatchObject({ kind: 'unsupported', channel: 'wechat-kf', providerType: 'event:future_event' });
  });

  it('enter_session without welcome_code gives no welcome action', () => {
    const n = normalizeKfMessage(event({ event_type: 'enter_session', open_kfid: KF, external_userid: USER, scene: 's' }), ctx);
    expect(one(n)).toMatchObject({ signal: 'session_started' });
    expect(n.actions).toEqual([]);
  });

  it('items off the documented shape are unsupported (or skipped without a msgid), never thrown', () => {
    expect(one(normalizeKfMessage({ msgid: 'odd', origin: 'x' }, ctx))).toMatchObject({ kind: 'unsupported', eventId: `wx-${KF}-odd` });
    expect(normalizeKfMessage({ nothing: true }, ctx)).toEqual({ events: [], actions: [] });
    expect(normalizeKfMessage(null, ctx)).toEqual({ events: [], actions: [] });
    expect(one(normalizeKfMessage({ msgid: 'e', origin: 4, msgtype: 'event', send_time: 1 }, ctx))).toMatchObject({ kind: 'unsupported' });
    expect(one(normalizeKfMessage(msg('text', { content: 'x' }, { external_userid: undefined }), ctx))).toMatchObject({ kind: 'unsupported', reason: 'message without external_userid' });
    expect(one(normalizeKfMessage(msg('location', { name: 'no coords' }), ctx))).toMatchObject({ content: { type: 'unsupported', providerType: 'location' } });
  });
});

describe('msgmenu in sync_msg (issue 12)', () => {
  it('renders head, items and tail as text for the agent (fixture)', () => {
    const page = fixtureJson<{ msg_list: unknown[] }>('wechat-kf', 'sync-msg-msgmenu.json');
    const e = one(normalizeKfMessage(page.msg_list[0], ctx));
    if (e.kind !== 'message' || e.content.type !== 'text') throw new Error('expected a text message');
    expect(e.content.text).toBe(['您对本次服务是否满意呢？', '- 满意', '- 不满意', '- 点击跳转到自助查询页面 (https://work.weixin.qq.com)', '- 纯文本，不可点击', '欢迎再次光临'].join('\n'));
  });

  it('an empty or hostile msgmenu stays unsupported, never a crash', () => {
    expect(one(normalizeKfMessage(msg('msgmenu', { list: 'x', head_content: 5 }), ctx))).toMatchObject({ kind: 'message', content: { type: 'text', text: '5' } });
    expect(one(normalizeKfMessage(msg('msgmenu', { list: [null, { type: 'click' }] }), ctx))).toMatchObject({ kind: 'message', content: { type: 'unsupported', providerType: 'msgmenu' } });
  });

  it('a menu click still arrives as text with menu_id', () => {
    expect(one(normalizeKfMessage(msg('text', { content: '满意', menu_id: '101' }), ctx))).toMatchObject({ content: { type: 'text', text: '满意', menuId: '101' } });
  });
});
