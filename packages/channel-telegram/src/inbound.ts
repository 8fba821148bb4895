export { verifySecretToken, SECRET_HEADER } from './telegram.verify.js';
export { parseUpdate, parseContent, chatRef, messageKey, parseMessageKey, topicOf, CALLBACK_ID_PREFIX, type TelegramParseOptions } from './telegram.parse.js';
export { createTelegramInboundAdapter, type TelegramInboundOptions } from './telegram.inbound.js';
export { telegramEnv, botIdFromToken, TelegramGroupMode, telegramAccountFields, type TelegramAccountFields } from './telegram.env.js';
export { telegramInbound, telegramAccountInbound, telegramDefaultAccount, completeTelegramFileAccount, type TelegramInboundSettings, type TelegramInboundEnv } from './telegram.channel-inbound.js';
export { askBotUsername } from './telegram.bot-username.js';
