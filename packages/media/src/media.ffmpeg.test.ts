import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { amrSample, ffmpegAvailable, mp4Sample, oggOpusSample, PNG_1X1 } from '@switchboard/testkit';
import { MediaError } from './media.errors.js';
import { Ffmpeg } from './media.ffmpeg.js';
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

  withFfmpeg(`converts a PNG to JPEG and refuses garbage with a conversion error${note}`, async () => {
    const png = join(dir, 'x.png');
    await writeFile(png, PNG_1X1);
    const jpg = join(dir, 'x.jpg');
    await ff.toJpeg(png, jpg);
    expect(sniffMime(await readFile(jpg))).toBe('image/jpeg');
    const junk = join(dir, 'junk.ogg');
    await writeFile(junk, Buffer.from('not audio at all'));
    await expect(ff.toSpeechMp3(junk, join(dir, 'junk.mp3'))).rejects.toMatchObject({ reason: 'conversion_failed' });
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
