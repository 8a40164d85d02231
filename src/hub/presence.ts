import { matchPattern } from '../auth/permissions.js';
import { SystemEvent } from '../codes.js';
import type { Logger } from '../logger.js';
import type { Subscriber } from './subscriber.js';

/** One connection present on a channel, as `GET /realtime/channels/:channel/presence` lists it. */
export interface PresenceMember {
  client_id: string;
  user_id: string | null;
  /** The gateway node the connection is on. */
  node: string;
  joined_at: string;
}

/**
 * Where presence lives: cluster-wide in Redis (`RedisPresenceStore`), or in
 * this process (`MemoryPresenceStore`). Entries expire unless refreshed, so a
 * node that dies without saying goodbye drops out after the TTL.
 * `member` strings are opaque to the store: the tracker keeps the exact string
 * it added, so refresh and remove address the same entry.
 */
export interface PresenceStore {
  /** Add or refresh entries on one channel, valid until `expiresAt` (ms since epoch). */
  put(channel: string, members: string[], expiresAt: number): Promise<void>;
  /** Remove one entry; true when it was there (the caller then announces the leave). */
  remove(channel: string, member: string): Promise<boolean>;
  /** Entries not expired at `now`. */
  list(channel: string, now: number): Promise<string[]>;
  /** Remove the entries expired at `now` and return those this call removed. */
  sweep(channel: string, now: number): Promise<string[]>;
  close(): Promise<void>;
}

export interface PresenceOptions {
  /** Channel patterns with presence (`chat:*`); others are not tracked. */
  patterns: readonly string[];
  nodeId: string;
  /** How long an entry lives without a heartbeat; heartbeats run every third of it. */
  ttlMs: number;
  /** Publishes `presence.join` / `presence.leave` on the channel (the hub). */
  publish: (channel: string, event: string, data: unknown) => Promise<unknown>;
  logger: Logger;
}


/**
 * Presence for the channels matching `patterns` (opt-in, docs/protocol.md "Presence";
 * `PRESENCE_CHANNELS=chat:*`): the hub reports every join and leave of a
 * connection; this keeps the node's own entries in the store, refreshes them
 * on a heartbeat, and announces `presence.join` / `presence.leave` with the
 * member on the channel itself. Entries of a node that died expire after the
 * TTL; the first live node whose sweep removes one announces its leave.
 */
export class Presence {
  readonly #opts: PresenceOptions;
  /** PRESENCE_CHANNELS plus what applications add (chat rooms): consulted on joins only. */
  readonly #patterns: string[];
  readonly #store: PresenceStore;
  readonly #log: Logger;
  /** This node's entries: channel → client id → member string. */
  readonly #local = new Map<string, Map<string, string>>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(store: PresenceStore, options: PresenceOptions) {
    this.#store = store;
    this.#opts = options;
    this.#patterns = [...options.patterns];
    this.#log = options.logger.child({ component: 'presence' });
    this.#timer = setInterval(() => this.#track(this.#heartbeat()), Math.max(100, Math.floor(options.ttlMs / 3)));
    this.#timer.unref();
  }

  /** True when `channel` has presence. */
  tracks(channel: string): boolean {
    for (const p of this.#patterns) if (matchPattern(p, channel)) return true;
    return false;
  }

  /** Track these patterns too (an application's channels, before clients connect). */
  addPatterns(patterns: readonly string[]): void {
    for (const p of patterns) if (!this.#patterns.includes(p)) this.#patterns.push(p);
  }

  /** The hub: `sub` joined `channel`. */
  joined(sub: Subscriber, channel: string): void {
    if (this.#closed || !this.tracks(channel)) return;
    const member: PresenceMember = { client_id: sub.clientId, user_id: sub.userId, node: this.#opts.nodeId, joined_at: new Date().toISOString() };
    const text = JSON.stringify(member);
    let members = this.#local.get(channel);
    if (members === undefined) this.#local.set(channel, (members = new Map()));
    members.set(sub.clientId, text);
    this.#track(
      (async () => {
        await this.#store.put(channel, [text], Date.now() + this.#opts.ttlMs);
        await this.#opts.publish(channel, SystemEvent.presenceJoin, member);
      })(),
    );
  }

  /** The hub: `sub` left `channel` (left it, or disconnected). */
  left(sub: Subscriber, channel: string): void {
    const members = this.#local.get(channel);
    const text = members?.get(sub.clientId);
    if (members === undefined || text === undefined) return;
    members.delete(sub.clientId);
    if (members.size === 0) this.#local.delete(channel);
    this.#track(this.#leave(channel, text));
  }

  /** Everyone present on `channel`, cluster-wide. */
  async list(channel: string): Promise<PresenceMember[]> {
    const members = await this.#store.list(channel, Date.now());
    return members.map((m) => JSON.parse(m) as PresenceMember);
  }

  /** Stop the heartbeat; wait for the joins and leaves under way (the hub still publishes). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    await this.#store.close();
  }

  async #leave(channel: string, text: string): Promise<void> {
    // Only the remover announces: a leave is published once even if a sweep raced us.
    if (await this.#store.remove(channel, text)) await this.#opts.publish(channel, SystemEvent.presenceLeave, JSON.parse(text));
  }

  async #heartbeat(): Promise<void> {
    const now = Date.now();
    for (const [channel, members] of this.#local) {
      await this.#store.put(channel, [...members.values()], now + this.#opts.ttlMs);
      // Entries of nodes that stopped heartbeating (crashed): whoever removes one announces its leave.
      for (const text of await this.#store.sweep(channel, now)) await this.#opts.publish(channel, SystemEvent.presenceLeave, JSON.parse(text));
    }
  }

  #track(task: Promise<unknown>): void {
    const tracked = task.catch((err: unknown) => this.#log.warn({ err: (err as Error)?.message ?? String(err) }, 'presence update failed; the next heartbeat repairs it'));
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }
}

/** Presence in this process only (no Redis): the same semantics, for a single node. */
export class MemoryPresenceStore implements PresenceStore {
  readonly #channels = new Map<string, Map<string, number>>();

  async put(channel: string, members: string[], expiresAt: number): Promise<void> {
    let entries = this.#channels.get(channel);
    if (entries === undefined) this.#channels.set(channel, (entries = new Map()));
    for (const m of members) entries.set(m, expiresAt);
  }

  async remove(channel: string, member: string): Promise<boolean> {
    const entries = this.#channels.get(channel);
    const removed = entries?.delete(member) ?? false;
    if (entries !== undefined && entries.size === 0) this.#channels.delete(channel);
    return removed;
  }

  async list(channel: string, now: number): Promise<string[]> {
    const out: string[] = [];
    for (const [m, expiresAt] of this.#channels.get(channel) ?? []) if (expiresAt > now) out.push(m);
    return out;
  }

  async sweep(channel: string, now: number): Promise<string[]> {
    const out: string[] = [];
    for (const [m, expiresAt] of this.#channels.get(channel) ?? []) if (expiresAt <= now) out.push(m);
    for (const m of out) await this.remove(channel, m);
    return out;
  }

  async close(): Promise<void> {
    this.#channels.clear();
  }
}
