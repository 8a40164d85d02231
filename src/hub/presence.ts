import { matchPattern } from '../auth/permissions.js';
import { SystemEvent } from '../codes.js';
import type { Logger } from '../logger.js';
import { PresenceDiff } from './presence-diff.js';
import type { PresenceStore } from './presence-store.js';
import type { Subscriber } from './subscriber.js';

/** One connection present on a channel, as `GET /realtime/channels/:channel/presence` lists it. */
export interface PresenceMember {
  client_id: string;
  user_id: string | null;
  /** The gateway node the connection is on. */
  node: string;
  joined_at: string;
}

/** One page of a channel's members, with the whole channel's count. */
export interface PresencePage {
  count: number;
  members: PresenceMember[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

export interface PresenceOptions {
  /** Channel patterns with presence (`chat:*`); others are not tracked. */
  patterns: readonly string[];
  nodeId: string;
  /** How long an entry lives without a heartbeat; heartbeats run every third of it. */
  ttlMs: number;
  /** From this many members (cluster-wide) on, a channel's joins and leaves go out as `presence.diff`. */
  diffThreshold: number;
  /** How often each node sends a coalesced channel's `presence.diff`. */
  diffIntervalMs: number;
  /** Members listed per list of a `presence.diff` at most (the counts stay exact). */
  diffMaxMembers: number;
  /** Publishes `presence.join` / `presence.leave` / `presence.diff` on the channel (the hub). */
  publish: (channel: string, event: string, data: unknown) => Promise<unknown>;
  logger: Logger;
}

/** The most members one page may ask for: a page is one HTTP answer, kept well under a megabyte. */
export const PRESENCE_PAGE_MAX = 1000;

/** The cursor on the wire: the last client id of the page, opaque to the caller. */
export const encodeCursor = (id: string): string => Buffer.from(id).toString('base64url');
export function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return null;
  const id = Buffer.from(cursor, 'base64url').toString();
  return id.length > 0 && encodeCursor(id) === cursor ? id : null;
}

/**
 * Presence for the channels matching `patterns` (opt-in, docs/protocol.md "Presence";
 * `PRESENCE_CHANNELS=chat:*`): the hub reports every join and leave of a
 * connection; this keeps the node's own entries in the store, refreshes them
 * on a heartbeat, and announces them on the channel itself. Below
 * `diffThreshold` members each join and leave is its own `presence.join` /
 * `presence.leave`; from it on, this node's changes on that channel wait for
 * the next `diffIntervalMs` tick and go out as one `presence.diff`, so a
 * room of 10,000 costs each subscriber one event per interval, not one per
 * member. Entries of a node that died expire after the TTL; the first live
 * node whose sweep removes one announces its leave.
 */
export class Presence {
  private readonly opts: PresenceOptions;
  /** PRESENCE_CHANNELS plus what applications add (chat rooms): consulted on joins only. */
  private readonly patterns: string[];
  private readonly store: PresenceStore;
  private readonly log: Logger;
  /** This node's entries: channel → client id → member string. */
  private readonly local = new Map<string, Map<string, string>>();
  /** Channels announced by `presence.diff` from this node, with the changes waiting for the next tick. */
  private readonly coalesced = new Map<string, PresenceDiff>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly heartbeatTimer: NodeJS.Timeout;
  private readonly diffTimer: NodeJS.Timeout;
  private closed = false;

  constructor(store: PresenceStore, options: PresenceOptions) {
    this.store = store;
    this.opts = options;
    this.patterns = [...options.patterns];
    this.log = options.logger.child({ component: 'presence' });
    this.heartbeatTimer = setInterval(() => this.track(this.heartbeat()), Math.max(100, Math.floor(options.ttlMs / 3)));
    this.heartbeatTimer.unref();
    this.diffTimer = setInterval(() => this.track(this.flush()), options.diffIntervalMs);
    this.diffTimer.unref();
  }

  /** True when `channel` has presence. */
  tracks(channel: string): boolean {
    for (const p of this.patterns) if (matchPattern(p, channel)) return true;
    return false;
  }

  /** Track these patterns too (an application's channels, before clients connect). */
  addPatterns(patterns: readonly string[]): void {
    for (const p of patterns) if (!this.patterns.includes(p)) this.patterns.push(p);
  }

  /** The hub: `sub` joined `channel`. */
  joined(sub: Subscriber, channel: string): void {
    if (this.closed || !this.tracks(channel)) return;
    const member: PresenceMember = {
      client_id: sub.clientId,
      user_id: sub.userId,
      node: this.opts.nodeId,
      joined_at: new Date().toISOString(),
    };
    const text = JSON.stringify(member);
    let members = this.local.get(channel);
    if (members === undefined) this.local.set(channel, (members = new Map()));
    members.set(sub.clientId, text);
    this.track(
      (async () => {
        const now = Date.now();
        const count = await this.store.put(channel, [{ id: sub.clientId, text }], now + this.opts.ttlMs, now);
        this.announce(channel, count, SystemEvent.presenceJoin, member);
      })(),
    );
  }

  /** The hub: `sub` left `channel` (left it, or disconnected). */
  left(sub: Subscriber, channel: string): void {
    const members = this.local.get(channel);
    const text = members?.get(sub.clientId);
    if (members === undefined || text === undefined) return;
    members.delete(sub.clientId);
    if (members.size === 0) this.local.delete(channel);
    this.track(this.leave(channel, sub.clientId, text));
  }

  /** Members present on `channel`, cluster-wide (a counter: no listing). */
  count(channel: string): Promise<number> {
    return this.store.count(channel, Date.now());
  }

  /** Up to `limit` members after `cursor` (a `next_cursor` from the previous page), in client id order. */
  async page(channel: string, cursor: string | null, limit: number): Promise<PresencePage> {
    const after = cursor === null ? null : decodeCursor(cursor);
    if (cursor !== null && after === null) throw new RangeError('cursor: expected a next_cursor of this endpoint');
    const now = Date.now();
    const [count, page] = await Promise.all([
      this.store.count(channel, now),
      limit === 0 ? null : this.store.page(channel, now, after, limit),
    ]);
    if (page === null) return { count, members: [], next_cursor: null };
    return {
      count,
      members: page.texts.map((t) => JSON.parse(t) as PresenceMember),
      next_cursor: page.last === null ? null : encodeCursor(page.last),
    };
  }

  /** Stop the timers, send what waits for a diff; wait for the joins and leaves under way (the hub still publishes). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.diffTimer);
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.track(this.flush());
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await this.store.close();
  }

  private async leave(channel: string, id: string, text: string): Promise<void> {
    // Only the remover announces: a leave is published once even if a sweep raced us.
    const { removed, count } = await this.store.remove(channel, id, Date.now());
    if (removed) this.announce(channel, count, SystemEvent.presenceLeave, JSON.parse(text) as PresenceMember);
  }

  /**
   * One join or leave, told the channel's count once the store took it: on its
   * own below the threshold, else into the channel's next diff. A channel
   * enters diff mode here, at once, but leaves it only on a tick, after its
   * diff went out, so no single event overtakes a change still waiting.
   */
  private announce(channel: string, count: number, event: string, member: PresenceMember): void {
    let diff = this.coalesced.get(channel);
    if (diff === undefined && count >= this.opts.diffThreshold)
      this.coalesced.set(channel, (diff = new PresenceDiff()));
    if (diff === undefined) {
      this.track(this.opts.publish(channel, event, member));
      return;
    }
    if (event === SystemEvent.presenceJoin) diff.join(member);
    else diff.leave(member);
  }

  /** Every tick: each coalesced channel's waiting changes as one `presence.diff`, with the count. */
  private async flush(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.coalesced].map(async ([channel, diff]) => {
        const count = await this.store.count(channel, now);
        // Synchronous from here: what arrives during the count above joins this diff, and the
        // mode ends only after the diff's publish started, ahead of any later single event.
        const data = diff.take(count, this.opts.diffMaxMembers);
        if (data !== null) this.track(this.opts.publish(channel, SystemEvent.presenceDiff, data));
        // Small again, or none of the room's members are here any more (a sweep's leave re-enters
        // the mode by its count): this node stops ticking for the channel.
        if (count < this.opts.diffThreshold || !this.local.has(channel)) this.coalesced.delete(channel);
      }),
    );
  }

  private async heartbeat(): Promise<void> {
    const now = Date.now();
    for (const [channel, members] of this.local) {
      await this.store.put(
        channel,
        [...members].map(([id, text]) => ({ id, text })),
        now + this.opts.ttlMs,
        now,
      );
      // Entries of nodes that stopped heartbeating (crashed): whoever removes one announces its leave.
      const gone = await this.store.sweep(channel, now);
      if (gone.length === 0) continue;
      const count = await this.store.count(channel, now);
      for (const text of gone)
        this.announce(channel, count, SystemEvent.presenceLeave, JSON.parse(text) as PresenceMember);
    }
  }

  private track(task: Promise<unknown>): void {
    const tracked = task.catch((err: unknown) =>
      this.log.warn(
        { err: (err as Error)?.message ?? String(err) },
        'presence update failed; the next heartbeat repairs it',
      ),
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}
