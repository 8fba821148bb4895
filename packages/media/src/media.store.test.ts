import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaTempStore } from './media.store.js';

describe('media temp store', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sb-store-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('streams a file under the cap, counts it, and deletes the workspace on dispose', async () => {
    const store = new MediaTempStore({ dir: root, maxBytes: 1024 * 1024 });
    const ws = await store.workspace();
    const saved = await ws.write(Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(500, 2)]), { maxBytes: 2000, what: 'the file' });
    expect(saved.size).toBe(1500);
    expect(saved.head).toHaveLength(64);
    expect(store.usedBytes).toBe(1500);
    await ws.dispose();
    expect(existsSync(ws.dir)).toBe(false);
    expect(store.usedBytes).toBe(0);
  });

  it('stops a download as soon as it passes the per-file cap and removes the partial file', async () => {
    const store = new MediaTempStore({ dir: root, maxBytes: 1024 * 1024 });
    const ws = await store.workspace();
    const err = await ws.write(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000, what: 'the video' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'too_large' });
    expect((err as Error).message).toBe('the video is too large (more than the 1000 B limit)');
    await ws.dispose();
  });

  it('refuses new bytes when the process-wide budget is used up', async () => {
    const store = new MediaTempStore({ dir: root, maxBytes: 1000 });
    const a = await store.workspace();
    await a.write(Readable.from([Buffer.alloc(800)]), { maxBytes: 5000, what: 'a' });
    const b = await store.workspace();
    await expect(b.write(Readable.from([Buffer.alloc(800)]), { maxBytes: 5000, what: 'b' })).rejects.toMatchObject({ reason: 'store_full', retryable: true });
    await a.dispose();
    await b.dispose();
    expect(store.usedBytes).toBe(0);
  });
});
