import type { Cache } from './cache.js';

export interface MemoryCacheOptions {
  /** Bound on the sum of value and key sizes; least recently used entries go first. */
  maxBytes?: number;
  /** Clock, injectable so TTL tests need not sleep. */
  now?: () => number;
}

const DEFAULTS = { maxBytes: 64 * 1024 * 1024, now: Date.now };

interface Entry {
  value: Buffer;
  expiresAt: number;
  size: number;
}

/**
 * In-process LRU bounded by total bytes, with per-entry TTL. A Map keeps
 * insertion order, so re-inserting on every hit makes its first key the least
 * recently used one: eviction is O(1) without a linked list. Expired entries
 * are dropped when touched or when they reach the LRU end.
 */
export class MemoryCache implements Cache {
  readonly driver = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly maxBytes: number;
  private readonly now: () => number;
  private bytes = 0;

  constructor(options: MemoryCacheOptions = {}) {
    const opts = { ...DEFAULTS, ...options };
    this.maxBytes = opts.maxBytes;
    this.now = opts.now;
  }

  /** Bytes held right now (values plus keys). */
  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<Buffer | null> {
    const entry = this.entries.get(key);
    if (!entry) return null;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) {
      this.bytes -= entry.size;
      return null;
    }
    this.entries.set(key, entry); // now the most recently used
    return entry.value;
  }

  async set(key: string, value: Buffer, ttlSeconds: number): Promise<void> {
    this.remove(key);
    const size = value.length + key.length * 2; // JS strings are UTF-16
    // A value bigger than the whole cache would evict everything and then not fit.
    if (size > this.maxBytes || ttlSeconds <= 0) return;
    // Copy: the caller may reuse its buffer, and Redis would have stored a copy too.
    this.entries.set(key, { value: Buffer.from(value), expiresAt: this.now() + ttlSeconds * 1000, size });
    this.bytes += size;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.size;
    }
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.size;
  }
}
