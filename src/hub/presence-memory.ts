import type { PresenceEntry, PresenceStore, PresenceStorePage } from './presence-store.js';

interface MemoryChannel {
  entries: Map<string, { text: string; expiresAt: number }>;
  /** The ids in order, kept sorted on insert so a page is a binary search, not a sort. */
  ids: string[];
  /** No entry expires before this (a lower bound): until then the live count is the map's size. */
  soonest: number;
}

/** First index in `ids` whose id sorts after `after` (or equal to it, when `inclusive`). */
function firstAfter(ids: string[], after: string, inclusive = false): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < after || (!inclusive && ids[mid] === after)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Presence in this process only (no Redis): the same semantics, for a single node. */
export class MemoryPresenceStore implements PresenceStore {
  private readonly channels = new Map<string, MemoryChannel>();

  async put(channel: string, entries: PresenceEntry[], expiresAt: number, now: number): Promise<number> {
    let ch = this.channels.get(channel);
    if (ch === undefined) this.channels.set(channel, (ch = { entries: new Map(), ids: [], soonest: Infinity }));
    for (const { id, text } of entries) {
      if (!ch.entries.has(id)) ch.ids.splice(firstAfter(ch.ids, id, true), 0, id);
      ch.entries.set(id, { text, expiresAt });
    }
    if (expiresAt < ch.soonest) ch.soonest = expiresAt;
    return this.live(ch, now);
  }

  async remove(channel: string, id: string, now: number): Promise<{ removed: boolean; count: number }> {
    const ch = this.channels.get(channel);
    if (ch === undefined || !this.drop(channel, ch, id))
      return { removed: false, count: ch === undefined ? 0 : this.live(ch, now) };
    return { removed: true, count: this.live(ch, now) };
  }

  async count(channel: string, now: number): Promise<number> {
    const ch = this.channels.get(channel);
    return ch === undefined ? 0 : this.live(ch, now);
  }

  async page(channel: string, now: number, after: string | null, limit: number): Promise<PresenceStorePage> {
    const ch = this.channels.get(channel);
    if (ch === undefined) return { texts: [], last: null };
    const from = after === null ? 0 : firstAfter(ch.ids, after);
    const ids = ch.ids.slice(from, from + limit);
    const texts: string[] = [];
    for (const id of ids) {
      const e = ch.entries.get(id)!;
      if (e.expiresAt > now) texts.push(e.text);
    }
    return { texts, last: from + limit < ch.ids.length ? ids[ids.length - 1] : null };
  }

  async sweep(channel: string, now: number): Promise<string[]> {
    const ch = this.channels.get(channel);
    if (ch === undefined) return [];
    const out: string[] = [];
    for (const [id, e] of ch.entries) {
      if (e.expiresAt > now) continue;
      out.push(e.text);
      this.drop(channel, ch, id);
    }
    return out;
  }

  async close(): Promise<void> {
    this.channels.clear();
  }

  private drop(channel: string, ch: MemoryChannel, id: string): boolean {
    if (!ch.entries.delete(id)) return false;
    ch.ids.splice(firstAfter(ch.ids, id, true), 1);
    if (ch.entries.size === 0) this.channels.delete(channel);
    return true;
  }

  /** Live entries: the size, unless something may have expired (then one scan, which also raises the bound). */
  private live(ch: MemoryChannel, now: number): number {
    if (now < ch.soonest) return ch.entries.size;
    let n = 0;
    let soonest = Infinity;
    for (const e of ch.entries.values()) {
      if (e.expiresAt <= now) continue;
      n++;
      if (e.expiresAt < soonest) soonest = e.expiresAt;
    }
    // Expired entries stay until the sweep: the bound stays at now so the count keeps skipping them.
    ch.soonest = n === ch.entries.size ? soonest : now;
    return n;
  }
}
