import { describeChannel, encryptWechatCallback, kfCallbackXml, WECHAT_TEST_CONFIG, type ConformanceDelivery } from '@switchboard/testkit';
import type { WebhookRequest } from '@switchboard/core';
import { createWechatInboundAdapter } from './wechat.inbound.js';

const KEYS = WECHAT_TEST_CONFIG;
type Encrypted = ReturnType<typeof encryptWechatCallback>;
const request = (cb: Encrypted): WebhookRequest => ({ rawBody: Buffer.from(cb.body), headers: { 'content-type': 'text/xml' }, query: cb.query, rawQuery: cb.search, now: Date.now() });

/** Decrypted notices WeCom posts to the callback URL: kf notices (with and without token/open_kfid) and other events. */
const NOTICES: Record<string, string> = {
  'kf_msg_or_event with token': kfCallbackXml({ corpId: KEYS.corpId, token: 'ENCconformance1', openKfId: 'wkConformance' }),
  'kf_msg_or_event without token': kfCallbackXml({ corpId: KEYS.corpId, openKfId: 'wkConformance' }),
  'enter_agent event': '<xml><ToUserName><![CDATA[ww]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><CreateTime>1</CreateTime></xml>',
  'app text message': '<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>',
};

// inbound half only: the outbound adapter needs the worker's token cache and Redis (see wechat.send.int.test.ts)
describeChannel('wechat-kf', () => ({
  inbound: createWechatInboundAdapter({ token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 64 * 1024 }),
  deliveries: Object.entries(NOTICES).map(([name, xml]) => ({ name, request: request(encryptWechatCallback(KEYS, xml)) })),
  forged: (d: ConformanceDelivery) => {
    const xml = NOTICES[d.name]!;
    return [
      { name: `${d.name} signed with another token`, request: request(encryptWechatCallback(KEYS, xml, { signWith: 'someOtherToken' })) },
      { name: `${d.name} for another corp`, request: request(encryptWechatCallback(KEYS, xml, { receiveId: 'wwSomebodyElse' })) },
      { name: `${d.name} replayed an hour later`, request: request(encryptWechatCallback(KEYS, xml, { timestamp: Math.floor(Date.now() / 1000) - 3600 })) },
      { name: `${d.name} with the signature of another nonce`, request: { ...d.request, query: { ...d.request.query, nonce: 'x' }, rawQuery: undefined } },
    ];
  },
  // the signature covers the ciphertext inside the body: "signing" a body means encrypting it as WeCom does
  sign: (plaintext: Buffer) => request(encryptWechatCallback(KEYS, plaintext.toString('utf8'))),
}));
