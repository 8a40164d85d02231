import type { Claim, IdempotencyStore, StoredAnswer } from './idempotency.js';

/** Keys kept at most; past it the oldest go first (a map keeps insertion order). */
const MAX_KEYS = 100_000;

interface Entry {
  fingerprint: string;
  expiresAt: number;
  answer: StoredAnswer | null;
}

/** Idempotency keys of one node (no REDIS_URL): a bounded map with expiry. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly ttlSeconds: number) {}

  async claim(key: string, fingerprint: string): Promise<Claim> {
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt > now) {
      if (entry.fingerprint !== fingerprint) return { state: 'mismatch' };
      return entry.answer === null ? { state: 'pending' } : { state: 'done', answer: entry.answer };
    }
    this.entries.delete(key);
    this.entries.set(key, { fingerprint, expiresAt: now + this.ttlSeconds * 1000, answer: null });
    this.evict(now);
    return { state: 'claimed' };
  }

  async complete(key: string, fingerprint: string, answer: StoredAnswer): Promise<void> {
    this.entries.set(key, { fingerprint, expiresAt: Date.now() + this.ttlSeconds * 1000, answer });
  }

  async release(key: string): Promise<void> {
    this.entries.delete(key);
  }

  ready(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private evict(now: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= MAX_KEYS && entry.expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}
