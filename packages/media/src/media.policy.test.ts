import { DEFAULT_MEDIA_LIMITS } from './media.env.js';
import { formatBytes } from './media.errors.js';
import { baseMime, effectiveMime, extensionFor, mimeFromFilename, sniffMime } from './media.mime.js';
import { allows, inboundRule } from './media.policy.js';

const MB = 1024 * 1024;

describe('inbound policy', () => {
  it('accepts vision image types and refuses others, ignoring MIME parameters', () => {
    const img = inboundRule(40 * MB, 'image', DEFAULT_MEDIA_LIMITS);
    expect(allows(img, 'image/jpeg')).toBe(true);
    expect(allows(img, 'IMAGE/PNG')).toBe(true);
    expect(allows(img, 'image/tiff')).toBe(false);
    expect(allows(img, undefined)).toBe(false);
    const audio = inboundRule(100 * MB, 'audio', DEFAULT_MEDIA_LIMITS);
    expect(allows(audio, 'audio/ogg; codecs=opus')).toBe(true);
    expect(allows(audio, 'audio/amr')).toBe(true);
    expect(allows(inboundRule(100 * MB, 'document', DEFAULT_MEDIA_LIMITS), 'application/pdf')).toBe(true);
    expect(allows(inboundRule(100 * MB, 'document', DEFAULT_MEDIA_LIMITS), 'application/zip')).toBe(false);
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
