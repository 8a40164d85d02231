import type { PresenceMember } from './presence.js';

/**
 * `data` of a `presence.diff` event. Apply `left` first, then `joined`. The
 * lists hold at most PRESENCE_DIFF_MAX_MEMBERS members each; the counts are
 * exact, so a list shorter than its count is partial.
 */
export interface PresenceDiffData {
  joined: PresenceMember[];
  left: PresenceMember[];
  /** Connections that joined (net) since the node's previous diff. */
  joined_count: number;
  left_count: number;
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
  private joined = new Map<string, PresenceMember>();
  private left = new Map<string, PresenceMember>();

  join(member: PresenceMember): void {
    this.joined.set(member.client_id, member);
  }

  leave(member: PresenceMember): void {
    if (!this.joined.delete(member.client_id)) this.left.set(member.client_id, member);
  }

  /**
   * What waits, emptied, each list cut to its first `maxMembers`: every
   * subscriber of the room gets the diff, so its size is paid once per
   * subscriber per interval. Null when nothing waits.
   */
  take(count: number, maxMembers: number): PresenceDiffData | null {
    if (this.joined.size === 0 && this.left.size === 0) return null;
    const data: PresenceDiffData = {
      joined: first(this.joined, maxMembers),
      left: first(this.left, maxMembers),
      joined_count: this.joined.size,
      left_count: this.left.size,
      count,
    };
    this.joined = new Map();
    this.left = new Map();
    return data;
  }
}

function first(members: Map<string, PresenceMember>, max: number): PresenceMember[] {
  const out: PresenceMember[] = [];
  for (const m of members.values()) {
    if (out.length === max) break;
    out.push(m);
  }
  return out;
}
