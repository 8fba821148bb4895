import { describeChannel, dropPrefix, encryptWechatCallback, FakeWecom, kfCallbackXml, testRedisUrl, uniquePrefix, WECHAT_TEST_CONFIG, type ConformanceDelivery } from '@switchboard/testkit';
import { silentLogger, type ConversationRef, type WebhookRequest } from '@switchboard/core';
import { createRedis, gatewayKeys } from '@switchboard/queue';
import type { Redis } from 'ioredis';
import { WechatApiClient } from './wechat.client.js';
import { DEFAULT_RENDER_OPTIONS, WECHAT_TEXT_MAX_BYTES } from './wechat.format.js';
import { createWechatInboundAdapter } from './wechat.inbound.js';
import { createWechatOutboundAdapter } from './wechat.send.js';
import { SendAllowance } from './wechat.state.js';

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
  outbound: {
    // the outbound adapter keeps its access token and send allowance in Redis: a real one, under a unique prefix
    async start() {
      const fake = await FakeWecom.start();
      const redis = createRedis(testRedisUrl(), 'worker');
      const prefix = uniquePrefix('wxconf');
      const keys = gatewayKeys(prefix);
      const client = new WechatApiClient({ settings: { corpId: fake.corpId, secret: fake.secret, apiUrl: fake.url, timeoutMs: 2000 }, redis, keys, log: silentLogger() });
      const adapter = createWechatOutboundAdapter({ client, redis, keys, log: silentLogger() });
      // WeCom lets the business answer a customer who wrote within 48 h, 5 messages per customer message
      const ref: ConversationRef = { channel: 'wechat-kf', account: 'wkConformance', userId: `wmConformance_${Date.now()}` };
      const item = fake.customerText(ref.account, ref.userId, 'question');
      await new SendAllowance(redis, keys).customerWrote(ref.account, ref.userId, Number(item['send_time']) * 1000, String(item['msgid']));
      return {
        adapter,
        ref,
        seenByCustomer: () => fake.sentTo(ref.userId).length,
        close: async () => {
          await dropPrefix(redis as Redis, prefix);
          redis.disconnect();
          await fake.close();
        },
      };
    },
    // WeCom counts bytes (2048 UTF-8 bytes a text); a text within them has at most as many characters (the byte limit itself: wechat.format tests)
    textLimit: WECHAT_TEXT_MAX_BYTES,
    maxParts: DEFAULT_RENDER_OPTIONS.maxParts,
    // kf/send_msg takes our msgid (derived from outboundId + part index) and delivers one message per msgid
    resend: 'provider',
  },
}));
