import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { MediaError, MediaFailureReason, MediaTooLargeError } from './media.errors.js';

/**
 * Where downloads land: one directory per turn under a root, every byte counted against a
 * process-wide budget so a burst of large files cannot fill the disk. Workspaces are removed when
 * the turn's enrichment ends, whatever happened.
 */
export class MediaTempStore {
  readonly root: string;
  private readonly maxBytes: number;
  private used = 0;

  constructor(opts: { dir?: string; maxBytes: number }) {
    this.root = opts.dir ?? join(tmpdir(), 'switchboard-media');
    this.maxBytes = opts.maxBytes;
  }

  /** Bytes currently held by open workspaces. */
  get usedBytes(): number {
    return this.used;
  }

  /** A fresh private directory; call `dispose()` when done (idempotent). */
  async workspace(): Promise<MediaWorkspace> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.root, 'turn-'));
    return new MediaWorkspace(this, dir);
  }

  /** @internal Reserves bytes of the budget; throws when the store is full. */
  reserve(n: number): void {
    if (this.used + n > this.maxBytes) {
      throw new MediaError(MediaFailureReason.storeFull, 'the media store of this worker is full; try again later', { retryable: true });
    }
    this.used += n;
  }

  /** @internal */
  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/** One turn's directory. */
export class MediaWorkspace {
  private held = 0;
  private seq = 0;
  private disposed = false;

  constructor(private readonly store: MediaTempStore, readonly dir: string) {}

  /** A new file path inside the workspace with the given extension. */
  path(ext: string): string {
    this.seq += 1;
    return join(this.dir, `f${this.seq}.${ext.replace(/[^a-z0-9]/gi, '') || 'bin'}`);
  }

  /**
   * Streams `body` into a new file, failing (and deleting what was written) as soon as it passes
   * `maxBytes`. Returns the path, the size and the first 64 bytes (for type sniffing).
   */
  async write(body: Readable, opts: { maxBytes: number; what: string; ext?: string }): Promise<{ path: string; size: number; head: Buffer }> {
    const path = this.path(opts.ext ?? 'bin');
    let size = 0;
    const headParts: Buffer[] = [];
    let headLen = 0;
    const counter = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        size += chunk.length;
        if (size > opts.maxBytes) {
          cb(new MediaTooLargeError(opts.what, opts.maxBytes));
          return;
        }
        try {
          this.store.reserve(chunk.length);
          this.held += chunk.length;
        } catch (err) {
          cb(err as Error);
          return;
        }
        if (headLen < 64) {
          headParts.push(chunk.subarray(0, 64 - headLen));
          headLen += Math.min(chunk.length, 64 - headLen);
        }
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, createWriteStream(path, { mode: 0o600 }));
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return { path, size, head: Buffer.concat(headParts) };
  }

  /** Accounts for a file produced inside the workspace by another process (ffmpeg output). */
  account(bytes: number): void {
    this.store.reserve(bytes);
    this.held += bytes;
  }

  /** Deletes the directory and returns its bytes to the budget. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.store.release(this.held);
    this.held = 0;
    await rm(this.dir, { recursive: true, force: true });
  }
}
