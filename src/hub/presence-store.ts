/**
 * Where presence lives: cluster-wide in Redis (`RedisPresenceStore`,
 * src/bus/presence-redis.ts), or in this process (`MemoryPresenceStore`,
 * presence-memory.ts). Both pass the same contract suite
 * (test/hub/presence-store-suite.ts).
 *
 * An entry is one connection on one channel: `id` its client id (unique on the
 * channel, the paging order), `text` the member as JSON, opaque to the store.
 * Entries expire unless refreshed, so a node that dies without saying goodbye
 * drops out after the TTL; counts and pages never include an expired entry.
 */
export interface PresenceEntry {
  id: string;
  text: string;
}

/** One page of a channel's members, in id order. */
export interface PresenceStorePage {
  /** The live entries' texts (fewer than the limit when expired ones were skipped). */
  texts: string[];
  /** The id to page on from, or null when this page reached the end. */
  last: string | null;
}

export interface PresenceStore {
  /**
   * Add or refresh entries on one channel, valid until `expiresAt` (ms since
   * epoch); resolves the channel's live count at `now` once they are in.
   */
  put(channel: string, entries: PresenceEntry[], expiresAt: number, now: number): Promise<number>;
  /**
   * Remove one entry. `removed` is true for exactly one caller (the one that
   * announces the leave), even when an owner and a sweep race; `count` is the
   * live count afterwards.
   */
  remove(channel: string, id: string, now: number): Promise<{ removed: boolean; count: number }>;
  /** Live entries at `now`; cost independent of the page size (a counter, not a listing). */
  count(channel: string, now: number): Promise<number>;
  /** Up to `limit` live entries whose id sorts after `after` (null: from the first). */
  page(channel: string, now: number, after: string | null, limit: number): Promise<PresenceStorePage>;
  /** Remove the entries expired at `now` and return the texts of those this call removed. */
  sweep(channel: string, now: number): Promise<string[]>;
  close(): Promise<void>;
}
