/**
 * One client per key (URL and token) shared by every component that asks for
 * it, counted by holders. A release closes the client only after the current
 * task: React's StrictMode mounts, unmounts and mounts again synchronously,
 * and the second mount takes the same client back instead of opening another.
 */
export interface Shared<C> {
  readonly client: C;
  holders: number;
  closeTimer: ReturnType<typeof setTimeout> | null;
}

export class SharedClients<C> {
  private readonly byKey = new Map<string, Shared<C>>();

  constructor(
    private readonly open: (key: string) => C,
    private readonly close: (client: C) => void,
  ) {}

  acquire(key: string): C {
    let entry = this.byKey.get(key);
    if (entry === undefined) {
      entry = { client: this.open(key), holders: 0, closeTimer: null };
      this.byKey.set(key, entry);
    }
    if (entry.closeTimer !== null) {
      clearTimeout(entry.closeTimer);
      entry.closeTimer = null;
    }
    entry.holders++;
    return entry.client;
  }

  release(key: string): void {
    const entry = this.byKey.get(key);
    if (entry === undefined || --entry.holders > 0) return;
    entry.closeTimer = setTimeout(() => {
      if (entry.holders > 0 || this.byKey.get(key) !== entry) return;
      this.byKey.delete(key);
      this.close(entry.client);
    }, 0);
  }

  /** Clients open now (tests, dev tools). */
  get size(): number {
    return this.byKey.size;
  }
}

/** Counts per name, for channel joins shared by several components of one client. */
export class RefCount {
  private readonly counts = new Map<string, number>();

  /** True when this is the first holder. */
  add(name: string): boolean {
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    return n === 1;
  }

  /** True when this was the last holder. */
  remove(name: string): boolean {
    const n = (this.counts.get(name) ?? 0) - 1;
    if (n > 0) {
      this.counts.set(name, n);
      return false;
    }
    this.counts.delete(name);
    return true;
  }

  has(name: string): boolean {
    return this.counts.has(name);
  }
}
