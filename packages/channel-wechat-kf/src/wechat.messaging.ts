import type { ChannelMessagingModule } from '@switchboard/core';
import type { MessagingContext } from '@switchboard/channel-runtime';
import { SEND_WINDOW_MS, SendAllowance, SENDS_PER_CUSTOMER_MESSAGE } from './wechat.state.js';

/**
 * The messaging half of WeChat Kefu: a business message is refused before it is queued when WeCom
 * would refuse it (95002: more than 48 h since the customer's last message; 95001: the 5 messages
 * allowed per customer message are used up). No templates, no new conversations.
 */
export const wechatMessaging: ChannelMessagingModule<MessagingContext> = {
  env: {},
  open({ context }) {
    const allowance = new SendAllowance(context.redis, context.keys);
    return {
      async check({ ref, contact, now }) {
        // the contact outlives the allowance's 48 h keys: it tells a closed window from a fresh one
        if (contact && now - contact.lastInboundAt > SEND_WINDOW_MS) {
          return { status: 422, error: 'outside_window', reason: 'window_closed', message: 'WeChat Kefu allows messages for 48 h after the customer\'s last message, and they last wrote more than 48 h ago' };
        }
        // a msgid never sent: the check counts what was sent since their last message
        const refused = await allowance.check(ref.account, ref.userId, `api-check-${now}`, now);
        if (refused?.code === 95002) return { status: 422, error: 'outside_window', reason: 'window_closed', message: `WeChat Kefu: ${refused.reason}` };
        if (refused) return { status: 422, error: 'outside_window', reason: 'allowance_used', message: `WeChat Kefu allows ${SENDS_PER_CUSTOMER_MESSAGE} messages per customer message and they are used up: the customer must write again` };
        return undefined;
      },
    };
  },
};
