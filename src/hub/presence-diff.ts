import type { PresenceMember } from './presence.js';

/** `data` of a `presence.diff` event. Apply `left` first, then `joined`. */
export interface PresenceDiffData {
  joined: PresenceMember[];
  left: PresenceMember[];
  /** Members on the channel, cluster-wide, when the diff was sent. */
  count: number;
}

/**
 * The changes one node has for one channel since its last `presence.diff`, net:
 * a join and a leave of the same connection within one interval cancel out (nobody
 * saw it come), while a leave and a re-join (same client id, new `joined_at`) stay
 * as both, which `left`-then-`joined` applies correctly.
 */
export class PresenceDiff {
  #joined = new Map<string, PresenceMember>();
  #left = new Map<string, PresenceMember>();

  join(member: PresenceMember): void {
    this.#joined.set(member.client_id, member);
  }

  leave(member: PresenceMember): void {
    if (!this.#joined.delete(member.client_id)) this.#left.set(member.client_id, member);
  }

  /** What waits, emptied; null when nothing does. */
  take(count: number): PresenceDiffData | null {
    if (this.#joined.size === 0 && this.#left.size === 0) return null;
    const data = { joined: [...this.#joined.values()], left: [...this.#left.values()], count };
    this.#joined = new Map();
    this.#left = new Map();
    return data;
  }
}
