const BUCKET_BITS = 6;
const BUCKETS = 1 << BUCKET_BITS;

/**
 * An immutable string-keyed map for the reducers. `set` and `delete` return a new map that shares all
 * but one of its 64 buckets with the old one, so one event costs a copy of ~n/64 entries instead of n:
 * a registration storm on a PBX with 10 000 phones stays linear. Iteration order is unspecified (views
 * sort).
 */
export class PersistentMap<V> implements Iterable<[string, V]> {
  private static readonly EMPTY = new PersistentMap<never>(new Array<undefined>(BUCKETS).fill(undefined), 0);

  private constructor(
    private readonly buckets: ReadonlyArray<ReadonlyMap<string, V> | undefined>,
    readonly size: number,
  ) {}

  static empty<V>(): PersistentMap<V> {
    return PersistentMap.EMPTY;
  }

  static from<V>(entries: Iterable<readonly [string, V]>): PersistentMap<V> {
    const buckets: Array<Map<string, V> | undefined> = new Array<undefined>(BUCKETS).fill(undefined);
    let size = 0;
    for (const [key, value] of entries) {
      const i = bucketOf(key);
      const bucket = (buckets[i] ??= new Map());
      if (!bucket.has(key)) size += 1;
      bucket.set(key, value);
    }
    return new PersistentMap(buckets, size);
  }

  get(key: string): V | undefined {
    return this.buckets[bucketOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.buckets[bucketOf(key)]?.has(key) ?? false;
  }

  set(key: string, value: V): PersistentMap<V> {
    const i = bucketOf(key);
    const old = this.buckets[i];
    if (old?.get(key) === value && old.has(key)) return this;
    const bucket = new Map(old);
    bucket.set(key, value);
    return this.with(i, bucket, this.size + (old?.has(key) ? 0 : 1));
  }

  delete(key: string): PersistentMap<V> {
    const i = bucketOf(key);
    const old = this.buckets[i];
    if (!old?.has(key)) return this;
    const bucket = new Map(old);
    bucket.delete(key);
    return this.with(i, bucket.size > 0 ? bucket : undefined, this.size - 1);
  }

  *entries(): IterableIterator<[string, V]> {
    for (const bucket of this.buckets) if (bucket) yield* bucket.entries();
  }

  *keys(): IterableIterator<string> {
    for (const bucket of this.buckets) if (bucket) yield* bucket.keys();
  }

  *values(): IterableIterator<V> {
    for (const bucket of this.buckets) if (bucket) yield* bucket.values();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  private with(i: number, bucket: ReadonlyMap<string, V> | undefined, size: number): PersistentMap<V> {
    const buckets = this.buckets.slice();
    buckets[i] = bucket;
    return new PersistentMap(buckets, size);
  }
}

/** FNV-1a over UTF-16 code units, folded to a bucket index. */
function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ (h >>> BUCKET_BITS) ^ (h >>> 16)) & (BUCKETS - 1);
}
