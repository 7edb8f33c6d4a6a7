/**
 * A small TTL cache with single-flight loading: while a value is being
 * fetched, every other caller for the same key waits for the same promise, so
 * N concurrent misses cost one upstream call. Failed loads are not cached.
 */
export class SingleFlightCache<T> {
  private readonly entries = new Map<
    string,
    { expiresAt: number; value: Promise<T> }
  >();

  constructor(
    private readonly options: {
      ttlMs: number;
      now?: () => number;
      /** Upper bound on entries; the oldest are dropped first. */
      maxEntries?: number;
    },
  ) {}

  private now() {
    return this.options.now ? this.options.now() : Date.now();
  }

  async get(key: string, load: () => Promise<T>): Promise<T> {
    const existing = this.entries.get(key);
    if (existing && existing.expiresAt > this.now()) {
      return existing.value;
    }
    const value = load();
    const entry = { expiresAt: this.now() + this.options.ttlMs, value };
    this.entries.set(key, entry);
    this.evict();
    try {
      const result = await value;
      // The TTL counts from when the answer arrived, not from when it was asked for.
      entry.expiresAt = this.now() + this.options.ttlMs;
      return result;
    } catch (error) {
      if (this.entries.get(key) === entry) {
        this.entries.delete(key);
      }
      throw error;
    }
  }

  invalidate(key: string) {
    this.entries.delete(key);
  }

  private evict() {
    const max = this.options.maxEntries ?? 10_000;
    while (this.entries.size > max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
