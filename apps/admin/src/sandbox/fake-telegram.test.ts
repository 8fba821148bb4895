import express from 'express';
import request from 'supertest';
import { conversationId } from '@switchboard/core';
import { TelegramClient } from '@switchboard/channel-telegram/outbound';
import { startOnLoopback } from '@switchboard/testkit';
import { createFakeTelegramRouter, describeTelegramSend } from './fake-telegram';
import { SandboxStore } from './store';

const TOKEN = '7000000001:sandboxtesttoken';
const BOT = '7000000001';

function appWith(store: SandboxStore) {
  const app = express();
  app.use('/sandbox/telegram', createFakeTelegramRouter({ store, botToken: TOKEN, botId: BOT }));
  return app;
}

describe('the sandbox fake Telegram Bot API', () => {
  it('shows MarkdownV2 as the text the customer reads, with inline buttons', () => {
    expect(describeTelegramSend('sendMessage', { text: '*Hi* there\\!', parse_mode: 'MarkdownV2', reply_markup: { inline_keyboard: [[{ text: 'Yes', callback_data: 'y' }], [{ text: 'No', callback_data: 'n' }]] } })).toEqual({ text: 'Hi there!\n[ Yes ] [ No ]' });
    expect(describeTelegramSend('sendMessage', { text: '' })).toEqual({ error: 'Bad Request: message text is empty' });
    expect(describeTelegramSend('sendMessage', { text: 'x'.repeat(4097) })).toEqual({ error: 'Bad Request: message is too long' });
    expect(describeTelegramSend('sendPhoto', { photo: 'https://cdn.example.com/a.png', caption: 'look' })).toEqual({ text: 'look', media: { kind: 'image', url: 'https://cdn.example.com/a.png' } });
  });

  it('records a bot send through the production client, and a human reply by its text', async () => {
    const store = new SandboxStore();
    const fake = await startOnLoopback(appWith(store));
    try {
      const client = new TelegramClient({ apiUrl: `${fake.url}/sandbox/telegram`, token: TOKEN });
      const conv = conversationId({ channel: 'telegram', account: BOT, userId: '700001' });
      store.add(conv, 'telegram', { author: 'human', text: 'Hi, this is Ana', at: Date.now() });
      await client.sendMessage('700001', 'Hello from the bot', {});
      await client.sendMessage('700001', 'Hi, this is Ana', {});
      await client.sendChatAction('700001');
      const lines = store.lines(conv);
      expect(lines.map((l) => [l.author, l.text, Boolean(l.deliveredAt)])).toEqual([
        ['human', 'Hi, this is Ana', true],
        ['bot', 'Hello from the bot', true],
      ]);
      expect(lines[1]!.providerMessageId).toMatch(/^700001:\d+$/);
      expect((await client.getMe()).id).toBe(Number(BOT));
    } finally {
      await fake.close();
    }
  });

  it('serves customer uploads through getFile and /file/bot<token>/<path>, only with the bot token', async () => {
    const store = new SandboxStore();
    store.putMedia({ id: 'F123', bytes: Buffer.from('png-bytes'), mimeType: 'image/png', filename: 'a.png', sha256: 'x' });
    const app = appWith(store);
    const file = await request(app).post(`/sandbox/telegram/bot${TOKEN}/getFile`).send({ file_id: 'F123' });
    expect(file.status).toBe(200);
    expect(file.body.result.file_path).toBe('uploads/F123');
    const bytes = await request(app).get(`/sandbox/telegram/file/bot${TOKEN}/uploads/F123`).buffer(true);
    expect(bytes.status).toBe(200);
    expect(Buffer.from(bytes.body as Buffer).toString()).toBe('png-bytes');
    expect((await request(app).get('/sandbox/telegram/file/bot1:wrong/uploads/F123')).status).toBe(404);
    const wrong = await request(app).post('/sandbox/telegram/bot1:wrong/sendMessage').send({ chat_id: 1, text: 'x' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    expect((await request(app).post(`/sandbox/telegram/bot${TOKEN}/getFile`).send({ file_id: 'nope' })).body.description).toBe('Bad Request: invalid file_id');
    expect((await request(app).post(`/sandbox/telegram/bot${TOKEN}/sendMessage`).send({ text: 'x' })).status).toBe(400);
    expect((await request(app).post(`/sandbox/telegram/bot${TOKEN}/deleteEverything`).send({})).status).toBe(404);
  });
});
