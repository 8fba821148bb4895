import { MediaError } from './media.errors.js';
import { sniffFormat, sniffMime } from './media.mime.js';
import { KIND_FORMATS, requireFormat } from './media.policy.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('sniffFormat: the real format from the first bytes', () => {
  const cases: Array<[string, Buffer, string, string | undefined]> = [
    ['ogg/opus', b('OggS\0\x02\0\0\0\0\0\0\0\0OpusHead'), 'ogg', 'ogg'],
    ['mp3 with ID3', b('ID3\x04\0\0\0\0\0\0'), 'mp3', 'mp3'],
    ['mp3 frame sync', Buffer.from([0xff, 0xfb, 0x90, 0x64]), 'mp3', 'mp3'],
    ['aac adts', Buffer.from([0xff, 0xf1, 0x50, 0x80]), 'aac', 'aac'],
    ['m4a', b('\0\0\0\x20ftypM4A \0\0\0\0'), 'm4a', 'mov'],
    ['mp4', b('\0\0\0\x18ftypisom\0\0\0\0'), 'mp4', 'mov'],
    ['3gp', b('\0\0\0\x18ftyp3gp4\0\0\0\0'), '3gp', 'mov'],
    ['wav', b('RIFF\x24\0\0\0WAVEfmt '), 'wav', 'wav'],
    ['webm', Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84]), b('webm')]), 'webm', 'matroska'],
    ['matroska', Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88]), b('matroska')]), 'matroska', 'matroska'],
    ['amr', b('#!AMR\n\x04'), 'amr', 'amr'],
    ['amr-wb', b('#!AMR-WB\n'), 'amr-wb', 'amr'],
    ['silk', b('#!SILK_V3\x0c\0'), 'silk', undefined],
    ['silk with the WeChat 0x02 byte', b('\x02#!SILK_V3\x0c\0'), 'silk', undefined],
    ['flac', b('fLaC\0\0\0\x22'), 'flac', 'flac'],
    ['jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'jpeg', 'jpeg_pipe'],
    ['png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'png', 'png_pipe'],
    ['gif', b('GIF89a\x01\0'), 'gif', 'gif'],
    ['webp', b('RIFF\0\0\0\0WEBPVP8 '), 'webp', 'webp_pipe'],
    ['pdf', b('%PDF-1.7\n'), 'pdf', undefined],
    ['zip (docx)', b('PK\x03\x04\x14\0'), 'zip', undefined],
    ['text', Buffer.from('Hello, I would like to book a table for four. Grüße'), 'text', undefined],
  ];
  it.each(cases)('%s', (_name, head, format, demuxer) => {
    const f = sniffFormat(head);
    expect(f?.format).toBe(format);
    expect(f?.demuxer).toBe(demuxer);
  });

  it('names playlists, concat lists, SDP and ffmetadata as indirection, never as text or media', () => {
    for (const s of ['#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n', '\xEF\xBB\xBF  #extm3u\n', '#EXTINF:1,\nx.aac\n', 'ffconcat version 1.0\nfile /tmp/x.ogg\n', 'v=0\no=- 0 0 IN IP4 127.0.0.1\n', ';FFMETADATA1\n']) {
      const f = sniffFormat(b(s));
      expect(f).toMatchObject({ format: 'playlist', indirection: true });
      expect(f?.demuxer).toBeUndefined();
      expect(sniffMime(b(s))).toBeUndefined();
    }
  });

  it('unknown binary is undefined', () => {
    expect(sniffFormat(Buffer.from([0, 1, 2, 3, 4, 5, 0xfe, 0x80]))).toBeUndefined();
    expect(sniffFormat(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('per-kind allowlists', () => {
  it('audio may be only audio containers; text, playlists, images and PDFs are unsupported media', () => {
    expect(requireFormat('audio', b('OggS\0'), 'the voice message').format).toBe('ogg');
    expect(requireFormat('audio', b('\x02#!SILK_V3'), 'the voice message').format).toBe('silk');
    for (const bad of ['#EXTM3U\nfile:///x.aac\n', 'ffconcat version 1.0\n', 'just some text', '%PDF-1.4', '\x89PNG\r\n\x1a\n']) {
      let err: unknown;
      try {
        requireFormat('audio', b(bad), 'the voice message');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MediaError);
      expect(err).toMatchObject({ reason: 'unsupported_type', retryable: false });
      expect((err as Error).message).toMatch(/^the voice message is unsupported media \(/);
    }
    expect(() => requireFormat('audio', b('#EXTM3U\n'), 'the voice message')).toThrow('the voice message is unsupported media (a playlist or file list, not an audio format this assistant reads)');
  });

  it('images, videos and documents have their own sets', () => {
    expect(() => requireFormat('image', b('OggS'), 'the image')).toThrow(/unsupported media \(ogg/);
    expect(() => requireFormat('video', b('#EXTM3U\n'), 'the video')).toThrow(/unsupported media/);
    expect(requireFormat('video', b('\0\0\0\x18ftypisom'), 'the video').format).toBe('mp4');
    expect(requireFormat('sticker', b('RIFF\0\0\0\0WEBPVP8 '), 'the sticker').format).toBe('webp');
    expect([...KIND_FORMATS.document].sort()).toEqual(['pdf', 'text']);
    for (const kind of ['audio', 'video', 'image', 'sticker'] as const) {
      expect(KIND_FORMATS[kind].has('text')).toBe(false);
      expect(KIND_FORMATS[kind].has('playlist')).toBe(false);
    }
  });
});
