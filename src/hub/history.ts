import type { Publication } from './publication.js';
import type { RetentionPolicy } from './retention.js';

/** Result of asking history for what a client missed on one channel. */
export type Recovery =
  | { ok: true; publications: Publication[] }
  | { ok: false; reason: 'history_gap' | 'unknown_position' };

/**
 * Per-channel event history used for resume. The in-memory driver below keeps
 * a ring per channel; a durable, cluster-wide driver keeps the same contract.
 */
export interface History {
  append(publication: Publication): void;
  /**
   * Every publication on `channel` with id > `afterId`, oldest first, or a
   * failure when events after `afterId` may have been dropped.
   */
  since(channel: string, afterId: number): Recovery;
  /** Channels with retained history (memory accounting, stats). */
  readonly channelCount: number;
}

/**
 * One channel's retained publications, oldest first: `items[head..]` (a queue
 * that compacts itself, so evicting from either bound is O(1) amortized).
 */
interface Ring {
  items: Array<Publication | undefined>;
  /** Index of the oldest retained item. */
  head: number;
  /** Sequence number (per ring, counting every append) of `items[head]`. */
  firstSeq: number;
  /** Highest id evicted from this ring; resume from below it has a gap. */
  evictedMax: number;
  lastAt: number;
  /** Dropped whole (channel eviction): its entries in the global order are dead. */
  dropped: boolean;
  /** This channel's retention (HISTORY_RETENTION pattern, else the defaults). */
  capacity: number;
  maxAgeMs: number;
}

export interface MemoryHistoryOptions {
  /** Events kept per channel. */
  size: number;
  /** Channels kept; the least recently published-to channel goes first. */
  maxChannels?: number;
  /**
   * Bytes kept over all channels (estimated by `Publication.size`); over it
   * the oldest publications, whatever their channel, go first. 0 = no bound.
   */
  maxBytes?: number;
  /** Events older than this are not replayed (0 = no age limit). */
  maxAgeMs?: number;
  /** Ids below this predate the process: nothing is known about them. */
  floor: number;
  /** Per-channel-pattern count and age; channels it does not name keep `size` and `maxAgeMs`. */
  retention?: RetentionPolicy;
}

/** Compact a queue once this many dead slots lead it (and they are at least half of it). */
const COMPACT_AT = 1024;

export class MemoryHistory implements History {
  private readonly rings = new Map<string, Ring>();
  private readonly size: number;
  private readonly maxChannels: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private floor: number;
  private readonly retention: RetentionPolicy | null;
  /** Highest id of any ring dropped whole (channel eviction). */
  private droppedMax = 0;
  /** Estimated bytes of every retained publication. */
  private bytes = 0;
  /** Retained publications over all rings. */
  private count = 0;
  /**
   * Every append in global order, as (ring, per-ring sequence) in two parallel
   * arrays (no object per publish), from `orderHead` on. Entries whose
   * publication already left its ring (ring bound, channel eviction) are dead
   * and skipped when reached; the arrays are compacted when mostly dead, so
   * they stay within a constant factor of `count`.
   */
  private orderRings: Ring[] = [];
  private orderSeqs: number[] = [];
  private orderHead = 0;

  constructor(options: MemoryHistoryOptions) {
    this.size = options.size;
    this.maxChannels = options.maxChannels ?? 10_000;
    this.maxBytes = options.maxBytes ?? 0;
    this.maxAgeMs = options.maxAgeMs ?? 0;
    this.floor = options.floor;
    this.retention = options.retention ?? null;
  }

  get channelCount(): number {
    return this.rings.size;
  }

  /** Estimated bytes retained (stats, tests). */
  get retainedBytes(): number {
    return this.bytes;
  }

  /** Publications retained over all channels. */
  get retainedCount(): number {
    return this.count;
  }

  append(publication: Publication): void {
    if (this.floor === Infinity) this.floor = publication.id;
    if (this.size === 0) {
      // No history at all: every resume below the newest id has a gap.
      this.droppedMax = publication.id;
      return;
    }
    let ring = this.rings.get(publication.channel);
    if (ring === undefined) {
      // Make room first: the new ring, not yet published to, must not be the one chosen.
      if (this.rings.size >= this.maxChannels) this.evictOldestChannel();
      const keep = this.retention?.for(publication.channel);
      ring = {
        items: [],
        head: 0,
        firstSeq: 0,
        evictedMax: 0,
        lastAt: 0,
        dropped: false,
        capacity: keep?.count ?? this.size,
        maxAgeMs: keep?.maxAgeMs ?? this.maxAgeMs,
      };
      this.rings.set(publication.channel, ring);
    }
    ring.lastAt = publication.publishedAt;
    const seq = ring.firstSeq + ring.items.length - ring.head;
    ring.items.push(publication);
    this.count++;
    this.bytes += publication.size;
    if (this.maxBytes > 0) {
      // Checked on every publish: two pushes, no scan.
      this.orderRings.push(ring);
      this.orderSeqs.push(seq);
    }
    if (ring.items.length - ring.head > ring.capacity) this.evictFirst(ring);
    if (this.maxBytes > 0) {
      while (this.bytes > this.maxBytes && this.count > 0) this.evictGloballyOldest();
      // Ring-bound evictions leave dead entries behind: compact when they outnumber the live ones.
      if (this.orderRings.length - this.orderHead > 2 * this.count + COMPACT_AT) this.compactOrder();
    }
  }

  since(channel: string, afterId: number): Recovery {
    if (afterId < this.floor - 1) return { ok: false, reason: 'unknown_position' };
    const ring = this.rings.get(channel);
    if (ring === undefined) {
      return afterId >= this.droppedMax ? { ok: true, publications: [] } : { ok: false, reason: 'history_gap' };
    }
    if (ring.evictedMax > afterId || this.droppedMax > afterId) return { ok: false, reason: 'history_gap' };
    const cutoff = ring.maxAgeMs > 0 ? Date.now() - ring.maxAgeMs : 0;
    const out: Publication[] = [];
    for (let i = ring.head; i < ring.items.length; i++) {
      const p = ring.items[i]!;
      if (p.id <= afterId) continue;
      if (p.publishedAt < cutoff) return { ok: false, reason: 'history_gap' };
      out.push(p);
    }
    return { ok: true, publications: out };
  }

  /** Ids at or above this are covered (used when restoring a snapshot). */
  setFloor(floor: number): void {
    this.floor = floor;
  }

  get coveredFrom(): number {
    return this.floor;
  }

  /**
   * Forget everything and trust nothing until the next append (a cluster
   * node after a bus gap): coverage then starts at that publication's id.
   */
  resetCoverage(): void {
    for (const ring of this.rings.values()) ring.dropped = true;
    this.rings.clear();
    this.floor = Infinity;
    this.droppedMax = 0;
    this.bytes = 0;
    this.count = 0;
    this.orderRings = [];
    this.orderSeqs = [];
    this.orderHead = 0;
  }

  /** Every retained publication, oldest first per channel (for snapshots). */
  *entries(): Iterable<Publication> {
    for (const ring of this.rings.values()) {
      for (let i = ring.head; i < ring.items.length; i++) yield ring.items[i]!;
    }
  }

  /** Drop a ring's oldest publication, remembering its id as a gap. */
  private evictFirst(ring: Ring): void {
    const p = ring.items[ring.head]!;
    ring.items[ring.head] = undefined;
    ring.head++;
    ring.firstSeq++;
    if (p.id > ring.evictedMax) ring.evictedMax = p.id;
    this.count--;
    this.bytes -= p.size;
    if (ring.head === ring.items.length) {
      ring.items = [];
      ring.head = 0;
    } else if (ring.head > COMPACT_AT && ring.head * 2 > ring.items.length) {
      // Amortized: each compaction copies fewer items than were evicted since the last.
      ring.items = ring.items.slice(ring.head);
      ring.head = 0;
    }
  }

  /**
   * Evict the oldest publication of all. The global order holds every append;
   * skipping the dead entries costs one step each, paid once per append.
   */
  private evictGloballyOldest(): void {
    while (this.orderHead < this.orderRings.length) {
      const ring = this.orderRings[this.orderHead];
      const seq = this.orderSeqs[this.orderHead];
      this.orderRings[this.orderHead] = undefined as unknown as Ring; // let a dropped ring go
      this.orderHead++;
      // Alive means still in its ring; then it is that ring's oldest (a ring evicts in append order).
      if (!ring.dropped && seq >= ring.firstSeq) {
        this.evictFirst(ring);
        break;
      }
    }
    if (this.orderHead > COMPACT_AT && this.orderHead * 2 > this.orderRings.length) this.compactOrder();
  }

  /** Drop the dead entries of the global order (amortized O(1) per append). */
  private compactOrder(): void {
    const rings: Ring[] = [];
    const seqs: number[] = [];
    for (let i = this.orderHead; i < this.orderRings.length; i++) {
      const ring = this.orderRings[i];
      const seq = this.orderSeqs[i];
      if (!ring.dropped && seq >= ring.firstSeq) {
        rings.push(ring);
        seqs.push(seq);
      }
    }
    this.orderRings = rings;
    this.orderSeqs = seqs;
    this.orderHead = 0;
  }

  private evictOldestChannel(): void {
    let oldestKey: string | null = null;
    let oldestAt = Infinity;
    // Linear scan only when over the channel bound: rare, and bounded by maxChannels.
    for (const [key, ring] of this.rings) {
      if (ring.lastAt < oldestAt) {
        oldestAt = ring.lastAt;
        oldestKey = key;
      }
    }
    if (oldestKey === null) return;
    const ring = this.rings.get(oldestKey)!;
    for (let i = ring.head; i < ring.items.length; i++) {
      const p = ring.items[i]!;
      if (p.id > this.droppedMax) this.droppedMax = p.id;
      this.count--;
      this.bytes -= p.size;
    }
    ring.dropped = true;
    this.rings.delete(oldestKey);
  }
}
