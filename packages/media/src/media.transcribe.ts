import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import OpenAI, { toFile } from 'openai';
import type { MediaKeys, RedisClient } from '@switchboard/queue';
import { MediaError, MediaFailureReason, errorText } from './media.errors.js';

/** Speech-to-text of one file. */
export interface Transcriber {
  readonly model: string;
  /** `filename` = the name sent (its extension tells several servers the decoder); default the file's own. */
  transcribe(path: string, opts: { mimeType: string; filename?: string; language?: string }): Promise<string>;
}

/**
 * The OpenAI-compatible `POST /audio/transcriptions` (OpenAI, Groq, a local whisper server…).
 * The file goes up with an extension matching its real type: several servers pick the decoder
 * from the file name.
 */
export class OpenAITranscriber implements Transcriber {
  constructor(
    private readonly client: OpenAI,
    readonly model: string,
  ) {}

  async transcribe(path: string, opts: { mimeType: string; filename?: string; language?: string }): Promise<string> {
    try {
      const file = await toFile(createReadStream(path), opts.filename ?? basename(path), { type: opts.mimeType });
      const res = await this.client.audio.transcriptions.create({
        file,
        model: this.model,
        response_format: 'json',
        ...(opts.language ? { language: opts.language } : {}),
      });
      return typeof res === 'string' ? res : res.text;
    } catch (err) {
      const status = (err as { status?: number }).status;
      throw new MediaError(MediaFailureReason.transcriptionFailed, `the voice message could not be transcribed (${status ? `HTTP ${status}: ` : ''}${errorText(err).slice(0, 200)})`, {
        retryable: status === undefined || status === 429 || status >= 500,
        cause: err,
      });
    }
  }
}

/**
 * Transcripts by media identity in Redis, so a retried or re-run turn never pays twice.
 * The key hashes channel, account and media id (or URL): provider ids never appear raw.
 */
export class TranscriptCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: MediaKeys,
    private readonly ttlSec: number,
  ) {}

  /** The cache key of a media identity (exported for tests and operators). */
  key(identity: string): string {
    return this.keys.transcript(identity);
  }

  async get(identity: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(identity))) ?? undefined;
  }

  async set(identity: string, transcript: string): Promise<void> {
    await this.redis.set(this.key(identity), transcript, 'EX', this.ttlSec);
  }
}
