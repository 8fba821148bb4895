export { TelegramClient, MEDIA_METHODS, type TelegramClientOptions, type TelegramUpload, type TelegramInputFile, type TelegramMediaField, type TelegramFile, type TelegramSent } from './telegram.client.js';
export { classifyTelegramError, TelegramRefusal, UNREACHABLE } from './telegram.errors.js';
export { markdownToEntities, splitFormatted, toMarkdownV2, escapeMarkdownV2, markdownV2ToPlain, TELEGRAM_TEXT_LIMIT, TELEGRAM_CAPTION_LIMIT, type TelegramEntity, type FormattedText } from './telegram.format.js';
export { createTelegramOutboundAdapter, renderForTelegram, renderTextParts, inlineKeyboard, optionCallbackData, HASHED_OPTION_PREFIX, type TelegramOutboundOptions, type TelegramMediaPreparerLike } from './telegram.outbound.js';
export { TelegramMediaSource, TELEGRAM_MEDIA_RULES, TELEGRAM_DOWNLOAD_MAX, type TelegramDownload, type TelegramMediaSourceOptions } from './telegram.media.js';
export { telegramEnv, botIdFromToken } from './telegram.env.js';
