import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegAvailable, oggOpusSample } from '@switchboard/testkit';
import { durationFromFile, oggDuration, wavDuration } from './media.duration.js';

const withFfmpeg = ffmpegAvailable() ? it : it.skip;

/** A 44-byte RIFF/WAVE header for mono 16-bit PCM (test helper). */
export function wavHeader(dataBytes: number, rate: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

describe('durations without ffprobe', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-dur-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  withFfmpeg('an OGG/Opus voice note: last granule minus pre-skip over 48 kHz', async () => {
    const p = join(dir, 'v.ogg');
    await writeFile(p, oggOpusSample(3));
    const d = await durationFromFile(p, 'ogg');
    expect(d).toBeGreaterThan(2.95);
    expect(d).toBeLessThan(3.05);
  });

  it('a PCM WAV: data bytes over the byte rate (also when the size field is 0, as streamed WAVs write it)', async () => {
    const pcm = Buffer.alloc(16_000 * 2 * 2);
    expect(wavDuration(Buffer.concat([wavHeader(pcm.length, 16_000), pcm.subarray(0, 100)]), 44 + pcm.length)).toBe(2);
    expect(wavDuration(wavHeader(0, 16_000), 44 + 32_000)).toBe(1);
    const p = join(dir, 'a.wav');
    await writeFile(p, Buffer.concat([wavHeader(pcm.length, 16_000), pcm]));
    expect(await durationFromFile(p, 'wav')).toBe(2);
  });

  it('says nothing for other formats or malformed headers', async () => {
    expect(oggDuration(Buffer.from('OggS garbage'), Buffer.from('OggS'))).toBeUndefined();
    expect(wavDuration(Buffer.from('RIFF\0\0\0\0WAVEjunk'), 100)).toBeUndefined();
    const p = join(dir, 'x.mp3');
    await writeFile(p, Buffer.from('ID3'));
    expect(await durationFromFile(p, 'mp3')).toBeUndefined();
  });
});
