import type { Publication } from './publication.js';
import type { RetentionPolicy } from './retention.js';
import { Tombstones } from './history-tombstones.js';

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
  readonly name: string;
  items: Array<Publication | undefined>;
  /** Index of the oldest retained item. */
  head: number;
  /** Sequence number (per ring, counting every append) of `items[head]`. */
  firstSeq: number;
  /**
   * Highest id this channel lost: evicted from this ring, or dropped with an
   * earlier ring of the same name. A resume from below it has a gap; the
   * other channels are not concerned.
   */
  lostMax: number;
  /** Estimated bytes of `items[head..]`, so dropping the ring whole is O(1). */
  bytes: number;
  /** Dropped whole (channel eviction): its entries in the global order are dead. */
  dropped: boolean;
  /** This channel's retention (HISTORY_RETENTION pattern, else the defaults). */
  capacity: number;
  maxAgeMs: number;
  /** Neighbours in the recency list (least recently published-to first). */
  older: Ring | null;
  newer: Ring | null;
}

/** What channels lost (see `MemoryHistory.lossState`). */
export interface HistoryLoss {
  /** Channel → the highest id it lost, for the channels history holds or remembers by name. */
  channels: Array<[string, number]>;
  /** Forgotten tombstones: bucket index → the highest id lost by a channel hashing to it. */
  buckets: Array<[number, number]>;
  noneKeptUpTo: number;
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

/**
 * Every operation is O(1) (amortized) whatever the number of channels: a
 * publish to a new channel name evicts the head of a recency list, a byte
 * overrun the head of a global append order, and byte and count totals are
 * kept as they change. A flood of new channel names therefore costs each
 * publish the same as a publish to a known channel, and what one channel
 * loses is remembered for that channel only.
 */
export class MemoryHistory implements History {
  private readonly rings = new Map<string, Ring>();
  /** Recency list: `oldest` is the least recently published-to ring, the next to go over `maxChannels`. */
  private oldest: Ring | null = null;
  private newest: Ring | null = null;
  /** Channels dropped whole: what each lost (history-tombstones.ts). */
  private readonly tombstones: Tombstones;
  /** History off (`size` 0): every id up to this one was not kept. */
  private noneKeptUpTo = 0;
  private readonly size: number;
  private readonly maxChannels: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private floor: number;
  private readonly retention: RetentionPolicy | null;
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
    this.maxChannels = Math.max(1, options.maxChannels ?? 10_000);
    this.tombstones = new Tombstones(this.maxChannels);
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

  /** Channels dropped whole whose loss is still remembered by name. */
  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  append(publication: Publication): void {
    if (this.floor === Infinity) this.floor = publication.id;
    if (this.size === 0) {
      // No history at all: every resume below the newest id has a gap.
      this.noneKeptUpTo = publication.id;
      return;
    }
    let ring = this.rings.get(publication.channel);
    if (ring === undefined) {
      // Make room first: the new ring, not yet published to, must not be the one chosen.
      if (this.rings.size >= this.maxChannels) this.evictOldestChannel();
      ring = this.newRing(publication.channel);
    } else if (ring !== this.newest) {
      this.unlink(ring);
      this.linkNewest(ring);
    }
    const seq = ring.firstSeq + ring.items.length - ring.head;
    ring.items.push(publication);
    const size = publication.size;
    ring.bytes += size;
    this.count++;
    this.bytes += size;
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
      return afterId >= this.lostBy(channel) ? { ok: true, publications: [] } : { ok: false, reason: 'history_gap' };
    }
    if (ring.lostMax > afterId) return { ok: false, reason: 'history_gap' };
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
    this.tombstones.clear();
    this.oldest = null;
    this.newest = null;
    this.floor = Infinity;
    this.noneKeptUpTo = 0;
    this.bytes = 0;
    this.count = 0;
    this.orderRings = [];
    this.orderSeqs = [];
    this.orderHead = 0;
  }

  /**
   * What channels lost, for snapshots: without it a restored ring would
   * replay what it kept as if it had lost nothing before it.
   */
  lossState(): HistoryLoss {
    const channels: Array<[string, number]> = [];
    for (const ring of this.rings.values()) if (ring.lostMax > 0) channels.push([ring.name, ring.lostMax]);
    channels.push(...this.tombstones.named((name) => this.rings.has(name)));
    return { channels, buckets: this.tombstones.buckets(), noneKeptUpTo: this.noneKeptUpTo };
  }

  /** Take back what `lossState` saved, after the snapshot's publications were appended. */
  restoreLoss(loss: HistoryLoss): void {
    for (const [name, lost] of loss.channels) {
      const ring = this.rings.get(name);
      if (ring !== undefined) {
        if (lost > ring.lostMax) ring.lostMax = lost;
        continue;
      }
      this.tombstones.record(name, lost);
    }
    this.tombstones.restoreBuckets(loss.buckets);
    if (loss.noneKeptUpTo > this.noneKeptUpTo) this.noneKeptUpTo = loss.noneKeptUpTo;
  }

  /** Every retained publication, oldest first per channel (for snapshots). */
  *entries(): Iterable<Publication> {
    for (const ring of this.rings.values()) {
      for (let i = ring.head; i < ring.items.length; i++) yield ring.items[i]!;
    }
  }

  private newRing(name: string): Ring {
    const keep = this.retention?.for(name);
    // A channel dropped before comes back knowing what it lost then.
    const lostMax = Math.max(this.tombstones.take(name), this.noneKeptUpTo);
    const ring: Ring = {
      name,
      items: [],
      head: 0,
      firstSeq: 0,
      lostMax,
      bytes: 0,
      dropped: false,
      capacity: keep?.count ?? this.size,
      maxAgeMs: keep?.maxAgeMs ?? this.maxAgeMs,
      older: null,
      newer: null,
    };
    this.rings.set(name, ring);
    this.linkNewest(ring);
    return ring;
  }

  private linkNewest(ring: Ring): void {
    ring.older = this.newest;
    ring.newer = null;
    if (this.newest === null) this.oldest = ring;
    else this.newest.newer = ring;
    this.newest = ring;
  }

  private unlink(ring: Ring): void {
    if (ring.older === null) this.oldest = ring.newer;
    else ring.older.newer = ring.newer;
    if (ring.newer === null) this.newest = ring.older;
    else ring.newer.older = ring.older;
    ring.older = null;
    ring.newer = null;
  }

  /** Drop a ring's oldest publication, remembering its id as a gap. */
  private evictFirst(ring: Ring): void {
    const p = ring.items[ring.head]!;
    ring.items[ring.head] = undefined;
    ring.head++;
    ring.firstSeq++;
    if (p.id > ring.lostMax) ring.lostMax = p.id;
    const size = p.size;
    ring.bytes -= size;
    this.count--;
    this.bytes -= size;
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

  /** Drop the least recently published-to channel whole, leaving a tombstone with what it lost. */
  private evictOldestChannel(): void {
    const ring = this.oldest;
    if (ring === null) return;
    this.unlink(ring);
    this.rings.delete(ring.name);
    const retained = ring.items.length - ring.head;
    const lost = retained > 0 ? Math.max(ring.lostMax, ring.items[ring.items.length - 1]!.id) : ring.lostMax;
    this.count -= retained;
    this.bytes -= ring.bytes;
    ring.dropped = true;
    ring.items = [];
    ring.head = 0;
    if (lost > 0) this.tombstones.record(ring.name, lost);
  }

  /** The highest id a channel without a ring may have lost (0: nothing). */
  private lostBy(name: string): number {
    return Math.max(this.tombstones.lost(name), this.noneKeptUpTo);
  }
}
