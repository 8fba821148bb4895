import type { ChannelId } from '@switchboard/core';
import { allows, decideOutbound, DEFAULT_MEDIA_LIMITS, inboundRule, type OutboundMediaRules } from '@switchboard/media';
import { CHANNELS } from './index.js';

const MB = 1024 * 1024;
const all = { convert: () => true };
const none = { convert: () => false };
const rules = (id: ChannelId): OutboundMediaRules => ({ ...CHANNELS[id].media, name: id });

describe('inbound policy per channel', () => {
  it('caps each kind at the configured limit and never above what the channel can deliver', () => {
    const limits = { ...DEFAULT_MEDIA_LIMITS, documentBytes: 50 * MB, maxBytes: 64 * MB };
    expect(inboundRule(CHANNELS.whatsapp.media.downloadMaxBytes, 'document', limits).maxBytes).toBe(50 * MB);
    // WeChat media/get needs Range requests above 20 MB
    expect(inboundRule(CHANNELS['wechat-kf'].media.downloadMaxBytes, 'document', limits).maxBytes).toBe(20 * MB);
    expect(inboundRule(CHANNELS.chatwoot.media.downloadMaxBytes, 'document', limits).maxBytes).toBe(40 * MB);
    expect(inboundRule(CHANNELS.whatsapp.media.downloadMaxBytes, 'image', limits).maxBytes).toBe(DEFAULT_MEDIA_LIMITS.imageBytes);
    expect(CHANNELS['wechat-kf'].media.downloadMaxBytes).toBe(20 * MB);
  });

  it('accepts vision image types and refuses others, ignoring MIME parameters', () => {
    const img = inboundRule(CHANNELS.chatwoot.media.downloadMaxBytes, 'image', DEFAULT_MEDIA_LIMITS);
    expect(allows(img, 'image/jpeg')).toBe(true);
    expect(allows(img, 'IMAGE/PNG')).toBe(true);
    expect(allows(img, 'image/tiff')).toBe(false);
    expect(allows(img, undefined)).toBe(false);
    const audio = inboundRule(CHANNELS.whatsapp.media.downloadMaxBytes, 'audio', DEFAULT_MEDIA_LIMITS);
    expect(allows(audio, 'audio/ogg; codecs=opus')).toBe(true);
    expect(allows(audio, 'audio/amr')).toBe(true);
    expect(allows(inboundRule(CHANNELS.whatsapp.media.downloadMaxBytes, 'document', DEFAULT_MEDIA_LIMITS), 'application/pdf')).toBe(true);
    expect(allows(inboundRule(CHANNELS.whatsapp.media.downloadMaxBytes, 'document', DEFAULT_MEDIA_LIMITS), 'application/zip')).toBe(false);
  });
});

describe('outbound policy per channel', () => {
  it('WhatsApp: jpeg image ≤ 5 MB goes as is, webp is converted, 6 MB falls back to a link', () => {
    expect(decideOutbound(rules('whatsapp'), 'image', { mimeType: 'image/jpeg', sizeBytes: MB }, all)).toEqual({ action: 'send', sendAs: 'image', mimeType: 'image/jpeg' });
    expect(decideOutbound(rules('whatsapp'), 'image', { mimeType: 'image/webp', sizeBytes: MB }, all)).toMatchObject({ action: 'convert', to: 'image/jpeg' });
    expect(decideOutbound(rules('whatsapp'), 'image', { mimeType: 'image/png', sizeBytes: 6 * MB }, all)).toMatchObject({ action: 'link', reason: 'image larger than 5 MB' });
  });

  it('WhatsApp: wav audio becomes OGG/Opus when possible, a link otherwise; mkv video is a link', () => {
    expect(decideOutbound(rules('whatsapp'), 'audio', { mimeType: 'audio/wav', sizeBytes: MB }, all)).toMatchObject({ action: 'convert', to: 'audio/ogg' });
    expect(decideOutbound(rules('whatsapp'), 'audio', { mimeType: 'audio/wav', sizeBytes: MB }, none)).toMatchObject({ action: 'link' });
    expect(decideOutbound(rules('whatsapp'), 'video', { mimeType: 'video/x-matroska', sizeBytes: MB }, all)).toMatchObject({ action: 'link' });
    expect(decideOutbound(rules('whatsapp'), 'document', { mimeType: 'application/pdf', sizeBytes: 90 * MB }, all)).toMatchObject({ action: 'send', sendAs: 'document' });
    expect(decideOutbound(rules('whatsapp'), 'document', { mimeType: 'application/zip', sizeBytes: MB }, all)).toMatchObject({ action: 'link' });
  });

  it('WeChat: voice must be AMR ≤ 2 MB and ≤ 60 s; documents are files ≤ 20 MB; tiny files are refused', () => {
    expect(CHANNELS['wechat-kf'].media.outbound.audio.sendAs).toBe('voice');
    expect(decideOutbound(rules('wechat-kf'), 'audio', { mimeType: 'audio/amr', sizeBytes: 10_000, durationSec: 5 }, none)).toEqual({ action: 'send', sendAs: 'voice', mimeType: 'audio/amr' });
    expect(decideOutbound(rules('wechat-kf'), 'audio', { mimeType: 'audio/amr', sizeBytes: 10_000, durationSec: 75 }, all)).toMatchObject({ action: 'link', reason: 'audio longer than 60 s' });
    expect(decideOutbound(rules('wechat-kf'), 'audio', { mimeType: 'audio/mpeg', sizeBytes: 100_000 }, all)).toMatchObject({ action: 'convert', to: 'audio/amr' });
    expect(decideOutbound(rules('wechat-kf'), 'audio', { mimeType: 'audio/mpeg', sizeBytes: 100_000 }, none)).toMatchObject({ action: 'link' });
    expect(decideOutbound(rules('wechat-kf'), 'document', { mimeType: 'application/zip', sizeBytes: 19 * MB }, none)).toEqual({ action: 'send', sendAs: 'file', mimeType: 'application/zip' });
    expect(decideOutbound(rules('wechat-kf'), 'document', { mimeType: 'application/zip', sizeBytes: 21 * MB }, none)).toMatchObject({ action: 'link' });
    expect(decideOutbound(rules('wechat-kf'), 'image', { mimeType: 'image/png', sizeBytes: 5 }, all)).toMatchObject({ action: 'link', reason: 'the file is empty' });
    expect(decideOutbound(rules('wechat-kf'), 'video', { mimeType: 'video/mp4', sizeBytes: 11 * MB }, all)).toMatchObject({ action: 'link' });
  });

  it('Chatwoot: any type up to 40 MB', () => {
    expect(decideOutbound(rules('chatwoot'), 'document', { mimeType: 'application/zip', sizeBytes: 39 * MB }, none)).toMatchObject({ action: 'send', sendAs: 'file' });
    expect(decideOutbound(rules('chatwoot'), 'video', { mimeType: 'video/x-matroska', sizeBytes: 41 * MB }, none)).toMatchObject({ action: 'link' });
  });
});

describe('the registry', () => {
  it('has one module per channel id, under its own id', () => {
    for (const [id, module] of Object.entries(CHANNELS)) {
      expect(module.id).toBe(id);
      expect(module.outboundQueue).toBe(`outbound-${id}`);
    }
  });
});
