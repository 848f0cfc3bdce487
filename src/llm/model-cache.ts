/**
 * A least-recently-used map with a fixed capacity: the chat model instances built per
 * (provider, model, temperature, max tokens). Clients choose the model and its settings, so the
 * set of keys is theirs to grow (every temperature is a new key): the capacity bounds it, and the
 * instance the least recently used is dropped first (it is rebuilt when asked for again, which
 * costs microseconds and no I/O).
 */
export class ModelCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new Error(`Invalid model cache size: ${String(capacity)} (use a whole number >= 0; 0 turns caching off).`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  getOrCreate(key: string, create: () => V): V {
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const value = create();
    if (this.capacity === 0) return value;
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }
}
