/**
 * Collapse concurrent calls for the same key into one: while a call for `key`
 * is in flight, later callers get the same promise. Nothing is remembered
 * after it settles (that is the cache's job), so a failure is not sticky.
 */
export class SingleFlight<K, V> {
  private readonly inflight = new Map<K, Promise<V>>();

  do(key: K, fn: () => Promise<V>): Promise<V> {
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const promise = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  get size(): number {
    return this.inflight.size;
  }
}
