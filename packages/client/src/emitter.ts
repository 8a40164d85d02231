/**
 * A small typed emitter. `on` returns its own unsubscribe function, so
 * listeners need no names. A listener that throws does not stop the others or
 * break the client's state: its error is rethrown on a fresh microtask, where
 * the host reports it (uncaught exception in Node, console in browsers).
 */
export type Listener<T> = (payload: T) => void;

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(type: K, fn: Listener<Events[K]>): () => void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  off<K extends keyof Events>(type: K, fn: Listener<Events[K]>): void {
    this.listeners.get(type)?.delete(fn);
  }

  has(type: keyof Events): boolean {
    const set = this.listeners.get(type);
    return set !== undefined && set.size > 0;
  }

  /**
   * Like `emit`, and returns what the listeners returned (for the ack of an
   * acknowledged event: promises are awaited). `threw` is true when one threw.
   */
  emitCollect<K extends keyof Events>(type: K, payload: Events[K]): { results: unknown[]; threw: boolean } {
    const results: unknown[] = [];
    let threw = false;
    const set = this.listeners.get(type);
    if (set === undefined || set.size === 0) return { results, threw };
    for (const fn of [...set]) {
      try {
        results.push((fn as (p: Events[K]) => unknown)(payload));
      } catch (err) {
        threw = true;
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return { results, threw };
  }

  emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    const set = this.listeners.get(type);
    if (set === undefined || set.size === 0) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<Events[K]>)(payload);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
