import { conversationId, type ChannelMessagingModule } from '@switchboard/core';
import type { MessagingContext } from '@switchboard/channel-runtime';
import { TelegramRefusal } from './telegram.errors.js';

/**
 * The messaging half of Telegram: a bot may only write to chats that started it (the caller
 * refuses customers who never wrote: `unknown_customer`), and never to a customer who blocked it
 * (`my_chat_member` → kicked, or a send refused with "blocked by the user") → `409 blocked`, or
 * who cannot be reached any more (deactivated, bot removed) → `409 unreachable`. No templates.
 */
export const telegramMessaging: ChannelMessagingModule<MessagingContext> = {
  env: {},
  open({ context }) {
    return {
      async check({ ref }) {
        const reason = await context.redis.get(context.keys.unreachable(conversationId(ref)));
        if (!reason) return undefined;
        if (reason === 'blocked' || reason === TelegramRefusal.botBlocked) {
          return { status: 409, error: 'blocked', message: 'the customer blocked the bot: it may write to them again once they unblock it (or press Start)' };
        }
        return { status: 409, error: 'unreachable', reason, message: `the customer cannot be reached on Telegram (${reason})` };
      },
    };
  },
};
