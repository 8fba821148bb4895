import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type OpenAI from 'openai';
import { toFile } from 'openai';
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
 * The key is the conversation id (hashed) and a hash of channel, account and media id (or URL):
 * provider ids never appear raw, and erasing a conversation finds its transcripts.
 */
export class TranscriptCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: MediaKeys,
    private readonly ttlSec: number,
  ) {}

  /** The cache key of a media identity in a conversation (exported for tests and operators). */
  key(conversationId: string, identity: string): string {
    return this.keys.transcript(conversationId, identity);
  }

  async get(conversationId: string, identity: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(conversationId, identity))) ?? undefined;
  }

  async set(conversationId: string, identity: string, transcript: string): Promise<void> {
    await this.redis.set(this.key(conversationId, identity), transcript, 'EX', this.ttlSec);
  }
}
