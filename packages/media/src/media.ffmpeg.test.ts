import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { amrSample, ffconcatList, ffmpegAvailable, hlsPlaylist, mp4Sample, oggOpusSample, PNG_1X1 } from '@switchboard/testkit';
import { MediaError } from './media.errors.js';
import { Ffmpeg, hardenedInput, selectFfmpeg } from './media.ffmpeg.js';
import { sniffMime } from './media.mime.js';

const HAS_FFMPEG = ffmpegAvailable();
const note = HAS_FFMPEG ? '' : ' [SKIPPED: ffmpeg/ffprobe not on PATH — apt-get install -y ffmpeg]';
const withFfmpeg = HAS_FFMPEG ? it : it.skip;

describe('ffmpeg conversions', () => {
  let dir: string;
  const ff = new Ffmpeg({ timeoutMs: 30_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-ff-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  withFfmpeg(`converts a generated OGG/Opus voice note to 16 kHz mono MP3${note}`, async () => {
    const src = join(dir, 'voice.ogg');
    await writeFile(src, oggOpusSample(2));
    expect((await ff.probe(src)).audioCodec).toBe('opus');
    const out = join(dir, 'voice.mp3');
    const size = await ff.toSpeechMp3(src, out);
    expect(size).toBeGreaterThan(1000);
    const p = await ff.probe(out);
    expect(p.audioCodec).toBe('mp3');
    expect(p.durationSec).toBeGreaterThan(1.8);
    expect(p.durationSec).toBeLessThan(2.3);
    expect(sniffMime(await readFile(out))).toBe('audio/mpeg');
  });

  withFfmpeg(`decodes a WeChat-style AMR voice file and converts it to MP3${note}`, async () => {
    const src = join(dir, 'voice.amr');
    await writeFile(src, amrSample(2));
    const probe = await ff.probe(src);
    expect(probe.audioCodec).toBe('amr_nb');
    expect(probe.durationSec).toBeCloseTo(2, 0);
    const out = join(dir, 'amr.mp3');
    await ff.toSpeechMp3(src, out);
    expect((await ff.probe(out)).audioCodec).toBe('mp3');
  });

  withFfmpeg(`converts audio to OGG/Opus for WhatsApp and probes a video's duration and sound${note}`, async () => {
    const src = join(dir, 'a.amr');
    await writeFile(src, amrSample(1));
    const out = join(dir, 'a.ogg');
    await ff.toOggOpus(src, out);
    expect((await ff.probe(out)).audioCodec).toBe('opus');
    const video = join(dir, 'v.mp4');
    await writeFile(video, mp4Sample(2));
    const vp = await ff.probe(video);
    expect(vp).toMatchObject({ hasVideo: true, hasAudio: true, width: 64, height: 48 });
    expect(vp.durationSec).toBeGreaterThan(1.5);
  });

  withFfmpeg(`converts a PNG to JPEG and refuses garbage as unsupported media before ffmpeg runs${note}`, async () => {
    const png = join(dir, 'x.png');
    await writeFile(png, PNG_1X1);
    const jpg = join(dir, 'x.jpg');
    await ff.toJpeg(png, jpg);
    expect(sniffMime(await readFile(jpg))).toBe('image/jpeg');
    const junk = join(dir, 'junk.ogg');
    await writeFile(junk, Buffer.from('not audio at all'));
    await expect(ff.toSpeechMp3(junk, join(dir, 'junk.mp3'))).rejects.toMatchObject({ reason: 'unsupported_type' });
  });

  withFfmpeg(`a corrupt file of an allowed format is a conversion error from ffmpeg${note}`, async () => {
    const bad = join(dir, 'bad.ogg');
    await writeFile(bad, Buffer.concat([Buffer.from('OggS'), Buffer.alloc(300, 7)]));
    await expect(ff.toSpeechMp3(bad, join(dir, 'bad.mp3'))).rejects.toMatchObject({ reason: 'conversion_failed' });
  });

  describe('hostile inputs never reach ffmpeg or ffprobe as anything but the sniffed file', () => {
    it('an HLS playlist or ffconcat list named like a voice note is refused by probe and every conversion', async () => {
      const secret = join(dir, 'secret.ogg');
      await writeFile(secret, HAS_FFMPEG ? oggOpusSample(1) : Buffer.from('OggS'));
      for (const [name, bytes] of [['voice.ogg', hlsPlaylist(secret)], ['voice.mp3', ffconcatList(secret)]] as const) {
        const p = join(dir, name);
        await writeFile(p, bytes);
        await expect(ff.probe(p)).rejects.toMatchObject({ reason: HAS_FFMPEG ? 'unsupported_type' : 'ffmpeg_missing' });
        for (const run of [() => ff.toSpeechMp3(p, join(dir, 'o.mp3')), () => ff.toOggOpus(p, join(dir, 'o.ogg')), () => ff.toAmr(p, join(dir, 'o.amr')), () => ff.toJpeg(p, join(dir, 'o.jpg'))]) {
          await expect(run()).rejects.toMatchObject({ reason: HAS_FFMPEG ? 'unsupported_type' : 'ffmpeg_missing' });
        }
      }
    });

    it('the input arguments force the sniffed demuxer, allow only the file protocol and name the file as file:', async () => {
      const p = join(dir, 'looks-like.m3u8');
      await writeFile(p, Buffer.from('OggS\0\x02'));
      const { args, format } = await hardenedInput(p, new Set(['ogg']));
      expect(format.format).toBe('ogg');
      expect(args).toEqual(['-protocol_whitelist', 'file', '-f', 'ogg', '-i', `file:${p}`]);
      await expect(hardenedInput(p, new Set(['mp3']))).rejects.toMatchObject({ reason: 'unsupported_type' });
      const mp4 = join(dir, 'clip.bin');
      await writeFile(mp4, Buffer.from('\0\0\0\x18ftypisom\0\0\0\0', 'latin1'));
      expect((await hardenedInput(mp4, new Set(['mp4']))).args).toEqual(['-protocol_whitelist', 'file', '-f', 'mov', '-enable_drefs', '0', '-i', `file:${mp4}`]);
    });
  });

  describe('which ffmpeg: system when on PATH, else the npm-bundled one', () => {
    it('a PATH without ffmpeg selects the binaries pnpm install put in node_modules', () => {
      const sel = selectFfmpeg({ pathEnv: join(dir, 'empty-bin') });
      expect(sel.source).toBe('bundled');
      expect(sel.ffmpegPath).toMatch(/@ffmpeg-installer/);
      expect(sel.ffprobePath).toMatch(/@ffprobe-installer/);
    });

    it('MEDIA_FFMPEG_PATH wins; a system ffmpeg on PATH comes before the bundled one', async () => {
      expect(selectFfmpeg({ configured: '/opt/ff/bin/ffmpeg', pathEnv: undefined })).toEqual({ source: 'configured', ffmpegPath: '/opt/ff/bin/ffmpeg', ffprobePath: '/opt/ff/bin/ffprobe' });
      const bin = join(dir, 'sysbin');
      await mkdir(bin, { recursive: true });
      await writeFile(join(bin, 'ffmpeg'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      const sel = selectFfmpeg({ pathEnv: `${join(dir, 'nothing')}:${bin}` });
      expect(sel).toMatchObject({ source: 'system', ffmpegPath: join(bin, 'ffmpeg') });
    });

    it('the bundled ffmpeg converts a WeChat AMR voice file to MP3 and probes it (fresh machine)', async () => {
      const bundled = new Ffmpeg({ selection: selectFfmpeg({ pathEnv: join(dir, 'empty-bin') }), timeoutMs: 30_000 });
      expect(bundled.describe().source).toBe('bundled');
      expect(await bundled.available()).toBe(true);
      const src = join(dir, 'fresh.amr');
      await writeFile(src, amrSample(2));
      const out = join(dir, 'fresh.mp3');
      expect(await bundled.toSpeechMp3(src, out)).toBeGreaterThan(1000);
      const p = await bundled.probe(out);
      expect(p.audioCodec).toBe('mp3');
      expect(p.durationSec).toBeGreaterThan(1.8);
    });
  });

  it('reports a missing ffmpeg with an install hint instead of crashing', async () => {
    const missing = new Ffmpeg({ path: join(dir, 'no-such-ffmpeg') });
    expect(await missing.available()).toBe(false);
    const err = await missing.toSpeechMp3(join(dir, 'x'), join(dir, 'y')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect(err).toMatchObject({ reason: 'ffmpeg_missing' });
    expect((err as Error).message).toMatch(/apt-get install -y ffmpeg/);
  });
});
