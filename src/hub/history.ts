import type { Publication } from './publication.js';

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

interface Ring {
  items: Publication[];
  /** Index of the oldest item once the ring is full. */
  head: number;
  /** Highest id evicted from this ring; resume from below it has a gap. */
  evictedMax: number;
  lastAt: number;
}

export interface MemoryHistoryOptions {
  /** Events kept per channel. */
  size: number;
  /** Channels kept; the least recently published-to channel goes first. */
  maxChannels?: number;
  /** Events older than this are not replayed (0 = no age limit). */
  maxAgeMs?: number;
  /** Ids below this predate the process: nothing is known about them. */
  floor: number;
}

export class MemoryHistory implements History {
  private readonly rings = new Map<string, Ring>();
  private readonly size: number;
  private readonly maxChannels: number;
  private readonly maxAgeMs: number;
  private floor: number;
  /** Highest id of any ring dropped whole (channel eviction). */
  private droppedMax = 0;

  constructor(options: MemoryHistoryOptions) {
    this.size = options.size;
    this.maxChannels = options.maxChannels ?? 10_000;
    this.maxAgeMs = options.maxAgeMs ?? 0;
    this.floor = options.floor;
  }

  get channelCount(): number {
    return this.rings.size;
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
      ring = { items: [], head: 0, evictedMax: 0, lastAt: 0 };
      this.rings.set(publication.channel, ring);
      if (this.rings.size > this.maxChannels) this.evictOldestChannel();
    }
    ring.lastAt = publication.publishedAt;
    if (ring.items.length < this.size) {
      ring.items.push(publication);
    } else {
      ring.evictedMax = ring.items[ring.head].id;
      ring.items[ring.head] = publication;
      ring.head = (ring.head + 1) % this.size;
    }
  }

  since(channel: string, afterId: number): Recovery {
    if (afterId < this.floor - 1) return { ok: false, reason: 'unknown_position' };
    const ring = this.rings.get(channel);
    if (ring === undefined) {
      return afterId >= this.droppedMax ? { ok: true, publications: [] } : { ok: false, reason: 'history_gap' };
    }
    if (ring.evictedMax > afterId || this.droppedMax > afterId) return { ok: false, reason: 'history_gap' };
    const ordered = ring.head === 0 ? ring.items : [...ring.items.slice(ring.head), ...ring.items.slice(0, ring.head)];
    const cutoff = this.maxAgeMs > 0 ? Date.now() - this.maxAgeMs : 0;
    const out: Publication[] = [];
    for (const p of ordered) {
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
    this.rings.clear();
    this.floor = Infinity;
    this.droppedMax = 0;
  }

  /** Every retained publication, oldest first per channel (for snapshots). */
  *entries(): Iterable<Publication> {
    for (const ring of this.rings.values()) {
      const ordered = ring.head === 0 ? ring.items : [...ring.items.slice(ring.head), ...ring.items.slice(0, ring.head)];
      yield* ordered;
    }
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
    for (const p of ring.items) if (p.id > this.droppedMax) this.droppedMax = p.id;
    this.rings.delete(oldestKey);
  }
}
