import { baseEnv, loadConfig, readDotenvFile } from '@switchboard/core';
import { telegramEnv } from '@switchboard/channel-telegram/inbound';
import { registerWebhook } from './webhook.js';

/** `pnpm telegram:webhook <public url>`: registers the webhook with TELEGRAM_WEBHOOK_SECRET as its secret token. */
async function main(): Promise<void> {
  readDotenvFile();
  const publicUrl = process.argv[2];
  if (!publicUrl) throw new Error('usage: pnpm telegram:webhook <public https url, e.g. https://gateway.example.com>');
  const cfg = loadConfig({ ...baseEnv, ...telegramEnv });
  const result = await registerWebhook(cfg, publicUrl);
  process.stdout.write(`webhook set: ${result.url} (pending updates: ${result.pendingUpdates}${result.lastError ? `, last error: ${result.lastError}` : ''})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`telegram:webhook: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
