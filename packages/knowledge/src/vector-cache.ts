/**
 * A map that keeps its most recently used entries up to a budget: each entry weighs `weigh(value)`
 * (1 by default) and the least recently used go first when the total passes `maxWeight`. An entry
 * heavier than the whole budget is still returned by `set`, and pushes out all the others.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, V>();
  private weight = 0;

  constructor(
    private readonly maxWeight: number,
    private readonly weigh: (value: V) => number = () => 1,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      // most recently used last
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): V {
    const old = this.entries.get(key);
    if (old !== undefined) this.weight -= this.weigh(old);
    this.entries.delete(key);
    this.entries.set(key, value);
    this.weight += this.weigh(value);
    for (const [oldest, ov] of this.entries) {
      if (this.weight <= this.maxWeight || oldest === key) break;
      this.entries.delete(oldest);
      this.weight -= this.weigh(ov);
    }
    return value;
  }
}

/**
 * Chunk vectors kept in the process for the search without pgvector, so a question reads only the
 * ids of the chunks in scope and fetches the vectors it has not seen (each turn used to read and
 * parse every chunk's `real[]` from text: about 10 % of a worker's CPU with a small base). Safe
 * because a chunk's id is never reused and its embedding is written only when the chunk is
 * inserted (replacing a document inserts new chunks). Bounded by the number of floats it holds
 * (the default, 4M, is 16 MB: about 2,700 vectors of 1536 dimensions).
 */
export class ChunkVectorCache {
  private readonly lru: LruCache<Float32Array>;

  constructor(maxFloats = 4 * 1024 * 1024) {
    this.lru = new LruCache<Float32Array>(maxFloats, (v) => v.length);
  }

  get size(): number {
    return this.lru.size;
  }

  get(id: string): Float32Array | undefined {
    return this.lru.get(id);
  }

  set(id: string, vector: readonly number[]): Float32Array {
    return this.lru.set(id, Float32Array.from(vector));
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
