import { DEFAULT_MEDIA_LIMITS } from './media.env.js';
import { formatBytes } from './media.errors.js';
import { baseMime, effectiveMime, extensionFor, mimeFromFilename, sniffMime } from './media.mime.js';
import { allows, CHANNEL_DOWNLOAD_MAX, decideOutbound, inboundRule, OUTBOUND_RULES } from './media.policy.js';

const MB = 1024 * 1024;
const all = { convert: () => true };
const none = { convert: () => false };

describe('inbound policy per channel', () => {
  it('caps each kind at the configured limit and never above what the channel can deliver', () => {
    const limits = { ...DEFAULT_MEDIA_LIMITS, documentBytes: 50 * MB, maxBytes: 64 * MB };
    expect(inboundRule('whatsapp', 'document', limits).maxBytes).toBe(50 * MB);
    // WeChat media/get needs Range requests above 20 MB
    expect(inboundRule('wechat-kf', 'document', limits).maxBytes).toBe(20 * MB);
    expect(inboundRule('chatwoot', 'document', limits).maxBytes).toBe(40 * MB);
    expect(inboundRule('whatsapp', 'image', limits).maxBytes).toBe(DEFAULT_MEDIA_LIMITS.imageBytes);
    expect(CHANNEL_DOWNLOAD_MAX['wechat-kf']).toBe(20 * MB);
  });

  it('accepts vision image types and refuses others, ignoring MIME parameters', () => {
    const img = inboundRule('chatwoot', 'image', DEFAULT_MEDIA_LIMITS);
    expect(allows(img, 'image/jpeg')).toBe(true);
    expect(allows(img, 'IMAGE/PNG')).toBe(true);
    expect(allows(img, 'image/tiff')).toBe(false);
    expect(allows(img, undefined)).toBe(false);
    const audio = inboundRule('whatsapp', 'audio', DEFAULT_MEDIA_LIMITS);
    expect(allows(audio, 'audio/ogg; codecs=opus')).toBe(true);
    expect(allows(audio, 'audio/amr')).toBe(true);
    expect(allows(inboundRule('whatsapp', 'document', DEFAULT_MEDIA_LIMITS), 'application/pdf')).toBe(true);
    expect(allows(inboundRule('whatsapp', 'document', DEFAULT_MEDIA_LIMITS), 'application/zip')).toBe(false);
  });
});

describe('outbound policy per channel', () => {
  it('WhatsApp: jpeg image ≤ 5 MB goes as is, webp is converted, 6 MB falls back to a link', () => {
    expect(decideOutbound('whatsapp', 'image', { mimeType: 'image/jpeg', sizeBytes: MB }, all)).toEqual({ action: 'send', sendAs: 'image', mimeType: 'image/jpeg' });
    expect(decideOutbound('whatsapp', 'image', { mimeType: 'image/webp', sizeBytes: MB }, all)).toMatchObject({ action: 'convert', to: 'image/jpeg' });
    expect(decideOutbound('whatsapp', 'image', { mimeType: 'image/png', sizeBytes: 6 * MB }, all)).toMatchObject({ action: 'link', reason: 'image larger than 5 MB' });
  });

  it('WhatsApp: wav audio becomes OGG/Opus when possible, a link otherwise; mkv video is a link', () => {
    expect(decideOutbound('whatsapp', 'audio', { mimeType: 'audio/wav', sizeBytes: MB }, all)).toMatchObject({ action: 'convert', to: 'audio/ogg' });
    expect(decideOutbound('whatsapp', 'audio', { mimeType: 'audio/wav', sizeBytes: MB }, none)).toMatchObject({ action: 'link' });
    expect(decideOutbound('whatsapp', 'video', { mimeType: 'video/x-matroska', sizeBytes: MB }, all)).toMatchObject({ action: 'link' });
    expect(decideOutbound('whatsapp', 'document', { mimeType: 'application/pdf', sizeBytes: 90 * MB }, all)).toMatchObject({ action: 'send', sendAs: 'document' });
    expect(decideOutbound('whatsapp', 'document', { mimeType: 'application/zip', sizeBytes: MB }, all)).toMatchObject({ action: 'link' });
  });

  it('WeChat: voice must be AMR ≤ 2 MB and ≤ 60 s; documents are files ≤ 20 MB; tiny files are refused', () => {
    expect(OUTBOUND_RULES['wechat-kf'].audio.sendAs).toBe('voice');
    expect(decideOutbound('wechat-kf', 'audio', { mimeType: 'audio/amr', sizeBytes: 10_000, durationSec: 5 }, none)).toEqual({ action: 'send', sendAs: 'voice', mimeType: 'audio/amr' });
    expect(decideOutbound('wechat-kf', 'audio', { mimeType: 'audio/amr', sizeBytes: 10_000, durationSec: 75 }, all)).toMatchObject({ action: 'link', reason: 'audio longer than 60 s' });
    expect(decideOutbound('wechat-kf', 'audio', { mimeType: 'audio/mpeg', sizeBytes: 100_000 }, all)).toMatchObject({ action: 'convert', to: 'audio/amr' });
    expect(decideOutbound('wechat-kf', 'audio', { mimeType: 'audio/mpeg', sizeBytes: 100_000 }, none)).toMatchObject({ action: 'link' });
    expect(decideOutbound('wechat-kf', 'document', { mimeType: 'application/zip', sizeBytes: 19 * MB }, none)).toEqual({ action: 'send', sendAs: 'file', mimeType: 'application/zip' });
    expect(decideOutbound('wechat-kf', 'document', { mimeType: 'application/zip', sizeBytes: 21 * MB }, none)).toMatchObject({ action: 'link' });
    expect(decideOutbound('wechat-kf', 'image', { mimeType: 'image/png', sizeBytes: 5 }, all)).toMatchObject({ action: 'link', reason: 'the file is empty' });
    expect(decideOutbound('wechat-kf', 'video', { mimeType: 'video/mp4', sizeBytes: 11 * MB }, all)).toMatchObject({ action: 'link' });
  });

  it('Chatwoot: any type up to 40 MB', () => {
    expect(decideOutbound('chatwoot', 'document', { mimeType: 'application/zip', sizeBytes: 39 * MB }, none)).toMatchObject({ action: 'send', sendAs: 'file' });
    expect(decideOutbound('chatwoot', 'video', { mimeType: 'video/x-matroska', sizeBytes: 41 * MB }, none)).toMatchObject({ action: 'link' });
  });
});

describe('MIME detection', () => {
  it('sniffs containers from their first bytes', () => {
    expect(sniffMime(Buffer.from('%PDF-1.4\n'))).toBe('application/pdf');
    expect(sniffMime(Buffer.from('OggS\0\x02'))).toBe('audio/ogg');
    expect(sniffMime(Buffer.from('#!AMR\n\x04'))).toBe('audio/amr');
    expect(sniffMime(Buffer.from('\x02#!SILK_V3', 'latin1'))).toBe('audio/silk');
    expect(sniffMime(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('image/png');
    expect(sniffMime(Buffer.from('\0\0\0\x18ftypisom', 'latin1'))).toBe('video/mp4');
    expect(sniffMime(Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'))).toBe('image/webp');
  });

  it('trusts the bytes over a generic or contradicting declared type, the declaration otherwise', () => {
    expect(effectiveMime('application/octet-stream', Buffer.from('#!AMR\n'))).toBe('audio/amr');
    expect(effectiveMime(undefined, Buffer.from('hello, plain text'))).toBe('text/plain');
    expect(effectiveMime('image/jpeg', Buffer.from('%PDF-1.7'))).toBe('application/pdf');
    expect(effectiveMime('audio/ogg; codecs=opus', Buffer.from('OggS'))).toBe('audio/ogg');
    expect(effectiveMime('application/vnd.openxmlformats-officedocument.wordprocessingml.document', Buffer.from('PK\x03\x04'))).toBe(
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
  });

  it('maps types and file names both ways', () => {
    expect(baseMime(' Audio/OGG ; codecs=opus')).toBe('audio/ogg');
    expect(extensionFor('audio/mpeg')).toBe('mp3');
    expect(extensionFor('application/x-unknown')).toBe('bin');
    expect(mimeFromFilename('Report.PDF')).toBe('application/pdf');
    expect(mimeFromFilename('https://x/y/z.docx?sig=1')).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    expect(mimeFromFilename('noext')).toBeUndefined();
  });

  it('formats sizes for notes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(30 * MB)).toBe('30 MB');
  });
});
