/**
 * What channels dropped whole from history lost, so that a resume on one of
 * them fails (`recovery_failed`) while one on any other channel does not.
 *
 * By name, at most `maxNames` of them, the oldest drop forgotten first; a
 * forgotten one is folded into a fixed table of buckets by a hash of its
 * name, each holding the highest id lost by any channel hashing to it. Fixed
 * size, and never wrong in the unsafe direction: a collision can only turn a
 * resume into `recovery_failed`, never hide a gap. Every operation is O(1)
 * amortized.
 */
export class Tombstones {
  private readonly byName = new Map<string, number>();
  /**
   * Names in the order their tombstones were made, from `head` on: the oldest
   * is forgotten first. (Not the Map's own order: taking a Map's first entry
   * walks past every entry deleted before it, a scan again.) A name whose
   * tombstone went meanwhile (its channel came back) is skipped.
   */
  private order: string[] = [];
  private head = 0;
  private readonly forgotten = new Float64Array(FORGOTTEN_BUCKETS);

  constructor(private readonly maxNames: number) {}

  /** Tombstones still kept by name. */
  get size(): number {
    return this.byName.size;
  }

  /** The highest id `name` lost when dropped (0: nothing known). */
  lost(name: string): number {
    return this.byName.get(name) ?? this.forgotten[hashName(name)];
  }

  /** `name` came back as a channel: what it lost (as `lost`), its tombstone gone. */
  take(name: string): number {
    const lost = this.lost(name);
    this.byName.delete(name);
    return lost;
  }

  /** `name` was dropped having lost ids up to `lost`. */
  record(name: string, lost: number): void {
    while (this.byName.size >= this.maxNames && this.head < this.order.length) this.forgetOldest();
    if (lost > (this.byName.get(name) ?? 0)) this.byName.set(name, lost);
    this.order.push(name);
    // Names whose tombstone went pile up when channels come and go: drop them now and then (amortized O(1)).
    if (this.order.length - this.head > 2 * this.byName.size + COMPACT_AT) {
      this.order = this.order.slice(this.head).filter((n) => this.byName.has(n));
      this.head = 0;
    }
  }

  clear(): void {
    this.byName.clear();
    this.order = [];
    this.head = 0;
    this.forgotten.fill(0);
  }

  /** By name, oldest first, skipping names `skip` says to (channels that came back). */
  named(skip: (name: string) => boolean): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (let i = this.head; i < this.order.length; i++) {
      const name = this.order[i];
      const lost = this.byName.get(name);
      if (lost !== undefined && !skip(name)) out.push([name, lost]);
    }
    return out;
  }

  /** The non-empty buckets of forgotten tombstones (snapshots). */
  buckets(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < FORGOTTEN_BUCKETS; i++) if (this.forgotten[i] > 0) out.push([i, this.forgotten[i]]);
    return out;
  }

  /** Take back buckets `buckets()` gave (out-of-range indexes ignored). */
  restoreBuckets(buckets: Array<[number, number]>): void {
    for (const [i, lost] of buckets)
      if (i >= 0 && i < FORGOTTEN_BUCKETS && lost > this.forgotten[i]) this.forgotten[i] = lost;
  }

  /** Forget the oldest tombstone by name, keeping what it lost in its bucket. */
  private forgetOldest(): void {
    while (this.head < this.order.length) {
      const name = this.order[this.head++];
      const lost = this.byName.get(name);
      // Absent: its channel came back. (Present may be a later tombstone of the same name: forgetting it early is safe.)
      if (lost === undefined) continue;
      this.byName.delete(name);
      const bucket = hashName(name);
      if (lost > this.forgotten[bucket]) this.forgotten[bucket] = lost;
      break;
    }
    if (this.head > COMPACT_AT && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}

/** Compact the order once this many dead slots lead it (and they are at least half of it). */
const COMPACT_AT = 1024;

/** Buckets for forgotten tombstones (128 KiB). */
const FORGOTTEN_BUCKETS = 16_384;

/** FNV-1a of a channel name, to a bucket index. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (FORGOTTEN_BUCKETS - 1);
}
