import { MediaError, MediaFailureReason } from './media.errors.js';
import { runReader } from './media.pdf.js';

/** Sample rate WeChat voice is decoded at (its encoder's native rate). */
const SILK_RATE = 24_000;

/** A SILK file over the transcription length limit (known from its frames, before decoding). */
export class SilkTooLongError extends MediaError {
  constructor(readonly durationSec: number) {
    super(MediaFailureReason.tooLarge, `is ${Math.round(durationSec)} s long`);
  }
}

type SilkAnswer = { ok: true; durationSec: number; size: number } | { ok: false; code: 'too_long'; durationSec: number } | { ok: false; code: 'failed'; error: string };

/**
 * WeChat's SILK v3 voice (with or without the 0x02 "Tencent" byte) → a 16-bit mono 24 kHz WAV the
 * transcription endpoints take, decoded by `silk-wasm` (Tencent's decoder compiled to WebAssembly:
 * no native build, no ffmpeg) in the bounded reader process. Refuses before decoding when the file
 * is longer than `maxSec` ({@link SilkTooLongError}). Returns the WAV's size and the duration.
 */
export async function silkToWav(input: string, output: string, opts: { maxSec: number; timeoutMs: number; memoryMb: number }): Promise<{ size: number; durationSec: number }> {
  const tooLarge = (detail: string) => new MediaError(MediaFailureReason.tooLarge, `is too large to decode (${detail})`);
  const answer = await runReader<SilkAnswer>(
    { mode: 'silk', path: input, output, maxSec: opts.maxSec, rate: SILK_RATE, silk: require.resolve('silk-wasm') },
    { memoryMb: opts.memoryMb, timeoutMs: opts.timeoutMs, outCapBytes: 64 * 1024, what: 'the SILK voice', tooLarge },
  );
  if (answer.ok) return { size: answer.size, durationSec: answer.durationSec };
  if (answer.code === 'too_long') throw new SilkTooLongError(answer.durationSec);
  throw new MediaError(MediaFailureReason.conversionFailed, `could not be decoded as SILK: ${answer.error}`);
}
