import type { InboxEntry, InboxOptions, InboxStats, InboxStore } from './inbox.js';

/**
 * Embedded inbox: per user an array sorted by id. Bounded per user by `max`
 * and in age by `ttlS` (expired entries are dropped when the user's inbox is
 * touched, and by `sweep`).
 */
export class MemoryInbox implements InboxStore {
  private readonly users = new Map<string, InboxEntry[]>();
  private readonly max: number;
  private readonly ttlMs: number;
  private pushed = 0;
  private acked = 0;

  constructor(options: InboxOptions) {
    this.max = options.max;
    this.ttlMs = options.ttlS * 1000;
  }

  async push(userId: string, entry: InboxEntry): Promise<void> {
    let list = this.users.get(userId);
    if (list === undefined) {
      list = [];
      this.users.set(userId, list);
    }
    let at = list.length;
    while (at > 0 && list[at - 1].id > entry.id) at--;
    if (at > 0 && list[at - 1].id === entry.id) return;
    list.splice(at, 0, entry);
    if (list.length > this.max) list.splice(0, list.length - this.max);
    this.pushed++;
  }

  async list(userId: string): Promise<InboxEntry[]> {
    const list = this.live(userId);
    return list === undefined ? [] : list.slice();
  }

  async ack(userId: string, id: number): Promise<number> {
    const list = this.live(userId);
    if (list === undefined) return 0;
    let n = 0;
    while (n < list.length && list[n].id <= id) n++;
    if (n > 0) list.splice(0, n);
    if (list.length === 0) this.users.delete(userId);
    this.acked += n;
    return n;
  }

  /** The user's entries with the expired ones dropped. */
  private live(userId: string): InboxEntry[] | undefined {
    const list = this.users.get(userId);
    if (list === undefined) return undefined;
    const cutoff = Date.now() - this.ttlMs;
    // Sorted by id, which is not quite age: each entry is checked (at most INBOX_MAX).
    let kept = list;
    if (list.some((e) => e.publishedAt < cutoff)) {
      kept = list.filter((e) => e.publishedAt >= cutoff);
      this.users.set(userId, kept);
    }
    if (kept.length === 0) {
      this.users.delete(userId);
      return undefined;
    }
    return kept;
  }

  /** Every user's entries (the shutdown snapshot). */
  entries(): IterableIterator<[string, InboxEntry[]]> {
    return this.users.entries();
  }

  stats(): InboxStats {
    let events = 0;
    let oldest = Infinity;
    for (const list of this.users.values()) {
      events += list.length;
      for (const e of list) if (e.publishedAt < oldest) oldest = e.publishedAt;
    }
    return {
      inbox_events: events,
      inbox_pushed: this.pushed,
      inbox_acked: this.acked,
      inbox_oldest_age_ms: events === 0 ? 0 : Date.now() - oldest,
    };
  }

  async close(): Promise<void> {}
}
