/**
 * Chunk vectors kept in the process for the search without pgvector, so a question reads only the
 * ids of the chunks in scope and fetches the vectors it has not seen (each turn used to read and
 * parse every chunk's `real[]` from text: about 10 % of a worker's CPU with a small base). Safe
 * because a chunk's id is never reused and its embedding is written only when the chunk is
 * inserted (replacing a document inserts new chunks). Bounded by the number of floats it holds;
 * the least recently used vectors go first.
 */
export class ChunkVectorCache {
  private readonly vectors = new Map<string, Float32Array>();
  private floats = 0;

  /** `maxFloats`: 4 bytes each (the default, 4M, is 16 MB: about 2,700 vectors of 1536 dimensions). */
  constructor(private readonly maxFloats = 4 * 1024 * 1024) {}

  get size(): number {
    return this.vectors.size;
  }

  get(id: string): Float32Array | undefined {
    const v = this.vectors.get(id);
    if (v) {
      // most recently used last
      this.vectors.delete(id);
      this.vectors.set(id, v);
    }
    return v;
  }

  set(id: string, vector: readonly number[]): Float32Array {
    const v = Float32Array.from(vector);
    const old = this.vectors.get(id);
    if (old) this.floats -= old.length;
    this.vectors.delete(id);
    this.vectors.set(id, v);
    this.floats += v.length;
    for (const [oldest, ov] of this.vectors) {
      if (this.floats <= this.maxFloats || oldest === id) break;
      this.vectors.delete(oldest);
      this.floats -= ov.length;
    }
    return v;
  }
}

/** Cosine similarity of two vectors (0 for a zero vector). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
