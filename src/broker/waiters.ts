import { BrokerError, BrokerErrorCode } from './errors.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Callers waiting for something to become available (a broker connection),
 * each with its own deadline, released in arrival order. Bounded: past `max`
 * waiters a new one is refused at once rather than queueing without limit.
 */
export class Waiters<T> {
  private readonly pending = new Set<Waiter<T>>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.pending.size;
  }

  wait(timeoutMs: number, onTimeout: () => Error): Promise<T> {
    if (this.pending.size >= this.max) {
      return Promise.reject(
        new BrokerError(BrokerErrorCode.overloaded, `${this.max} publishes already waiting for the broker connection`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.pending.delete(waiter);
          reject(onTimeout());
        }, timeoutMs),
      };
      // Not unref'd: a caller awaits this, and the bound ends it; unref'd, a process with nothing
      // else to do would exit mid-publish instead of reporting the failure.
      this.pending.add(waiter);
    });
  }

  /** Release every waiter with `value`, oldest first (so their continuations run in that order). */
  resolveAll(value: T): void {
    for (const w of this.take()) w.resolve(value);
  }

  rejectAll(err: Error): void {
    for (const w of this.take()) w.reject(err);
  }

  private take(): Waiter<T>[] {
    const all = [...this.pending];
    this.pending.clear();
    for (const w of all) clearTimeout(w.timer);
    return all;
  }
}
