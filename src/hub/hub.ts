import { EventIdSequence } from './ids.js';
import { Publication, BinaryPublication } from './publication.js';
import { FanOut, concatFrames, type FanOutChannel, type Pending } from './fanout.js';
import type { MemoryHistory } from './history.js';
import { Transport, type Subscriber } from './subscriber.js';
import { BROADCAST_CHANNEL } from './channel-name.js';
import type { Publisher, PublishOptions } from './publisher.js';
import type { BusPublication, ClusterBus, PublishOnce } from '../bus/bus.js';

/**
 * Subscribers of one channel, split by transport so each chunk is built only
 * if someone needs it; `held` are still being caught up from durable history
 * (their live events are held back); `pending` waits for the next fan-out slice.
 */
type Channel = FanOutChannel;

export interface HubStats {
  channels: number;
  messagesOut: number;
  publications: number;
}

export interface PublishResult {
  id: string;
  /** Local connections the publication was queued for. */
  delivered: number;
}

export interface JoinResult {
  /** Channels whose missed events could not be replayed (the client must refetch). */
  failed: string[];
  /** What the subscriber missed, framed for its transport, in id order; write it before anything else. */
  missed: Buffer | null;
}

/** Durable-history reads tried per channel after a bus gap (~15 s with the backoff). */
const CATCH_UP_ATTEMPTS = 20;

/** What `eventsSince` found: publications in id order, and channels whose history no longer reaches back. */
export interface ReadResult {
  publications: Publication[];
  failed: string[];
}

/** Told of every publication as it is kept in history, before its fan-out (the long-poll transport). */
export type PublicationTap = (publication: Publication) => void;

const NO_REPLAY: JoinResult = Object.freeze({ failed: [], missed: null }) as JoinResult;

/** Told of every channel a connection joins and leaves (presence). */
export interface MembershipListener {
  joined(sub: Subscriber, channel: string): void;
  left(sub: Subscriber, channel: string): void;
}

function newChannel(name: string): Channel {
  return { name, ws: new Set(), sse: new Set(), tcp: new Set(), held: new Set(), pending: [] };
}

/** What `publishBinary` answers when there is no bus to wait for. */
const DONE: Promise<void> = Promise.resolve();

/**
 * The realtime core: channels appear with their first subscriber and vanish
 * with the last. Publications are queued per channel and written by the
 * fan-out (fanout.ts): framed once, concatenated once per turn, one write per
 * subscriber, large channels in time slices that later publications join.
 *
 * Alone, the hub numbers publications itself and keeps history in memory.
 * With a cluster bus, ids and durable history come from the bus, and every
 * publication (this node's own too) is delivered when it comes back from the
 * bus, so all nodes see one order.
 */
export class Hub implements Publisher {
  readonly ids: EventIdSequence;
  /** Recent publications this node has seen (the whole history when alone). */
  readonly history: MemoryHistory;
  private readonly bus: ClusterBus | null;
  private readonly channels = new Map<string, Channel>();
  /** Every connection: the audience of broadcasts. */
  private readonly everyone: Channel = newChannel(BROADCAST_CHANNEL);
  /** Live publications held back per subscriber while it is caught up. */
  private readonly holds = new Map<Subscriber, Pending[]>();
  private readonly fanOut = new FanOut((ch, items) => {
    for (const sub of ch.held) this.holds.get(sub)?.push(...items);
  });
  /** Replays written by joins (fan-out writes are counted by the fan-out). */
  private messagesOut = 0;
  private publications = 0;
  /** Highest bus id delivered here, and the catch-up state after a bus gap. */
  private lastBusId = 0;
  private catchUp: BusPublication[] | null = null;
  private gapAgain = false;
  private resubscribed: Promise<void> = Promise.resolve();
  /** Presence, when some channels have it. */
  private membership: MembershipListener | null = null;
  /** Alone only: highest version published per channel and once-key (with a bus, Redis keeps it). */
  private readonly onceVersions = new Map<string, number>();
  /** Checked on every publication (not every delivery): a plain field. */
  private tap: PublicationTap | null = null;

  constructor(history: MemoryHistory, ids: EventIdSequence, bus: ClusterBus | null = null) {
    this.history = history;
    this.ids = ids;
    this.bus = bus;
    if (bus !== null) {
      // Nothing is known locally until the bus delivers: resumes go to the bus.
      history.resetCoverage();
      bus.onPublication((p) => this.fromBus(p));
      // This node delivered its own binary messages when they were sent.
      bus.onBinary((b) => {
        if (b.node !== bus.nodeId) this.deliverBinary(b.channel, b.payload);
      });
      bus.onGap((resubscribed) => void this.recoverGap(resubscribed));
    }
  }

  // ---- membership -------------------------------------------------------

  /** Report joins and leaves to `listener` (one listener; null to stop). */
  setMembershipListener(listener: MembershipListener | null): void {
    this.membership = listener;
  }

  addConnection(sub: Subscriber): void {
    setOf(this.everyone, sub).add(sub);
  }

  removeConnection(sub: Subscriber): void {
    this.fanOut.membershipChanged(sub);
    setOf(this.everyone, sub).delete(sub);
    this.everyone.held.delete(sub);
    this.holds.delete(sub);
    for (const name of sub.channels) {
      this.detach(name, sub);
      this.membership?.left(sub, name);
    }
    sub.channels.clear();
  }

  get connectionCount(): number {
    return this.everyone.ws.size + this.everyone.sse.size + this.everyone.tcp.size + this.everyone.held.size;
  }

  countByTransport(): { ws: number; sse: number; tcp: number } {
    let ws = this.everyone.ws.size;
    let sse = this.everyone.sse.size;
    let tcp = this.everyone.tcp.size;
    for (const sub of this.everyone.held) {
      if (sub.transport === Transport.ws) ws++;
      else if (sub.transport === Transport.sse) sse++;
      else tcp++;
    }
    return { ws, sse, tcp };
  }

  /**
   * All connections of one transport (keepalive sweeps, shutdown), live: no copy per call — the
   * sweeps walk them 20 times per interval. Removal during the walk is safe (Set iteration);
   * a caller that closes connections as it goes and needs a fixed list copies it.
   */
  *connections(transport: Transport): IterableIterator<Subscriber> {
    yield* setOfTransport(this.everyone, transport);
    for (const sub of this.everyone.held) if (sub.transport === transport) yield sub;
  }

  /**
   * Join channels; with `since`, also collect what the subscriber missed on
   * them (broadcasts included when `withBroadcasts`), in id order. Synchronous
   * when local history covers the gap; otherwise the subscriber's live events
   * are held back while durable history is read, then merged behind the replay.
   * Callers write `missed` before anything else reaches the subscriber.
   */
  join(sub: Subscriber, names: string[], since: number | null, withBroadcasts = false): JoinResult | Promise<JoinResult> {
    const channels = names.map((name) => {
      let ch = this.channels.get(name);
      if (ch === undefined) {
        ch = newChannel(name);
        this.channels.set(name, ch);
      }
      if (!sub.channels.has(name)) {
        sub.channels.add(name);
        this.membership?.joined(sub, name);
      }
      return ch;
    });
    if (since === null) {
      for (const ch of channels) setOf(ch, sub).add(sub);
      return NO_REPLAY;
    }
    const targets = withBroadcasts ? [...channels, this.everyone] : channels;
    const missed: Publication[] = [];
    const remote: Channel[] = [];
    const failed: string[] = [];
    for (const ch of targets) {
      const local = this.history.since(ch.name, since);
      if (local.ok) {
        for (const p of local.publications) if (!isPending(ch, p)) missed.push(p);
      } else if (this.bus !== null && local.reason === 'unknown_position') {
        remote.push(ch);
      } else if (ch !== this.everyone) {
        failed.push(ch.name);
      }
    }
    if (remote.length === 0) {
      for (const ch of channels) setOf(ch, sub).add(sub);
      return this.result(sub, failed, missed);
    }
    // Hold live events for this subscriber until durable history is merged in.
    for (const ch of channels) ch.held.add(sub);
    if (withBroadcasts && setOf(this.everyone, sub).delete(sub)) {
      this.fanOut.membershipChanged(sub);
      this.everyone.held.add(sub);
    }
    this.holds.set(sub, []);
    return this.joinFromBus(sub, channels, remote, since, failed, missed, withBroadcasts);
  }

  private async joinFromBus(
    sub: Subscriber,
    channels: Channel[],
    remote: Channel[],
    since: number,
    failed: string[],
    missed: Publication[],
    withBroadcasts: boolean,
  ): Promise<JoinResult> {
    const results = await Promise.all(
      remote.map((ch) =>
        this.bus!.since(ch.name, since).catch(() => ({ ok: false as const, reason: 'unknown_position' as const })),
      ),
    );
    remote.forEach((ch, i) => {
      const r = results[i];
      if (!r.ok) {
        if (ch !== this.everyone) failed.push(ch.name);
        return;
      }
      for (const e of r.entries) missed.push(Publication.fromJson(e.id, e.channel, e.event, e.dataJson, e.text, e.publishedAt));
    });
    const held = this.holds.get(sub);
    this.holds.delete(sub);
    if (held === undefined) return NO_REPLAY; // disconnected meanwhile
    for (const p of held) if (p instanceof Publication) missed.push(p);
    for (const ch of channels) {
      ch.held.delete(sub);
      if (sub.channels.has(ch.name)) setOf(ch, sub).add(sub);
    }
    if (withBroadcasts && this.everyone.held.delete(sub)) setOf(this.everyone, sub).add(sub);
    return this.result(sub, failed, missed);
  }

  /**
   * Every publication after `since` on `names` (and broadcasts when
   * `withBroadcasts`), in id order, read without joining: from local history
   * when it covers `since`, else from the bus's durable history. Publications
   * still queued for fan-out are included (they are in history already).
   */
  eventsSince(names: string[], since: number, withBroadcasts: boolean): ReadResult | Promise<ReadResult> {
    const targets = withBroadcasts ? [...names, BROADCAST_CHANNEL] : names;
    const found: Publication[] = [];
    const failed: string[] = [];
    const remote: string[] = [];
    for (const name of targets) {
      const local = this.history.since(name, since);
      if (local.ok) for (const p of local.publications) found.push(p);
      else if (this.bus !== null && local.reason === 'unknown_position') remote.push(name);
      else if (name !== BROADCAST_CHANNEL) failed.push(name);
    }
    if (remote.length === 0) return { publications: inOrder(found), failed };
    return Promise.all(
      remote.map((name) => this.bus!.since(name, since).catch(() => ({ ok: false as const, reason: 'unknown_position' as const }))),
    ).then((results) => {
      results.forEach((r, i) => {
        if (!r.ok) {
          if (remote[i] !== BROADCAST_CHANNEL) failed.push(remote[i]);
          return;
        }
        for (const e of r.entries) found.push(Publication.fromJson(e.id, e.channel, e.event, e.dataJson, e.text, e.publishedAt));
      });
      return { publications: inOrder(found), failed };
    });
  }

  /** The newest id this node has kept in history: everything up to it is readable by `eventsSince`. */
  get position(): number {
    return this.bus === null ? this.ids.current : this.lastBusId;
  }

  /** Tell `tap` of every publication kept from now on (one tap; null to stop). */
  setPublicationTap(tap: PublicationTap | null): void {
    this.tap = tap;
  }

  private result(sub: Subscriber, failed: string[], missed: Publication[]): JoinResult {
    if (missed.length === 0) return failed.length === 0 ? NO_REPLAY : { failed, missed: null };
    missed.sort((a, b) => a.id - b.id);
    const unique = missed.filter((p, i) => i === 0 || p.id !== missed[i - 1].id);
    this.messagesOut += unique.length;
    return { failed, missed: concatFrames(unique, sub.transport) };
  }

  unsubscribe(sub: Subscriber, channel: string): boolean {
    if (!sub.channels.delete(channel)) return false;
    this.detach(channel, sub);
    this.membership?.left(sub, channel);
    return true;
  }

  hasChannel(channel: string): boolean {
    return this.channels.has(channel);
  }

  subscriberCount(channel: string): number {
    const ch = this.channels.get(channel);
    return ch === undefined ? 0 : ch.ws.size + ch.sse.size + ch.tcp.size + ch.held.size;
  }

  // ---- publishing -------------------------------------------------------

  /**
   * Publish one event to a channel (`*`: every connection). Alone, the id is
   * assigned and the event queued right away; in a cluster, it resolves once
   * the bus has numbered and stored it, and delivery follows from the bus.
   */
  async publishEvent(channel: string, event: string, data: unknown): Promise<PublishResult> {
    if (this.bus === null) return this.publishNow(channel, event, data);
    const delivered = this.localAudience(channel);
    const dataJson = JSON.stringify(data) ?? 'null';
    const id = await this.bus.publish(channel, event, dataJson, typeof data === 'string');
    return { id: String(id), delivered };
  }

  /** The Publisher side (catalog consumer): `null` when `options.once` found the version published already. */
  async publish(channel: string, event: string, data: unknown, options: PublishOptions = {}): Promise<string | null> {
    if (options.once === undefined) return (await this.publishEvent(channel, event, data)).id;
    return this.publishOnce(channel, event, data, options.once);
  }

  /**
   * Publish unless `once.version` (or a later one) was published on this
   * channel under `once.key` already: resolves the id, or `null` when skipped.
   * In a cluster the check is atomic with the publish, in Redis, so a change
   * republished after a crash or a retry reaches clients exactly once.
   */
  async publishOnce(channel: string, event: string, data: unknown, once: PublishOnce): Promise<string | null> {
    if (this.bus === null) {
      const key = `${channel}\u0000${once.key}`;
      const last = this.onceVersions.get(key);
      if (last !== undefined && last >= once.version) return null;
      this.onceVersions.set(key, once.version);
      return this.publishNow(channel, event, data).id;
    }
    const id = await this.bus.publish(channel, event, JSON.stringify(data) ?? 'null', typeof data === 'string', once);
    return id === null ? null : String(id);
  }

  /** Alone only: publish synchronously (id assigned, kept in history, queued for this turn's flush). */
  publishNow(channel: string, event: string, data: unknown): PublishResult {
    if (this.bus !== null) throw new Error('publishNow is for a hub without a cluster bus; use publishEvent');
    const publication = new Publication(this.ids.next(), channel, event, data);
    return { id: publication.idText, delivered: this.deliver(publication) };
  }

  /**
   * A binary message goes to the channel's WebSocket subscribers on every
   * node: here at once (in order with the channel's text events on this
   * node), on the others through the bus. Not numbered and not kept in
   * history: a binary message is not resumed. Resolves once the bus took it
   * (at once when alone); a rejection means only this node's subscribers
   * got it.
   */
  publishBinary(channel: string, payload: Buffer): Promise<void> {
    this.deliverBinary(channel, payload);
    return this.bus === null ? DONE : this.bus.publishBinary(channel, payload);
  }

  private deliverBinary(channel: string, payload: Buffer): void {
    const ch = this.channels.get(channel);
    if (ch === undefined || ch.ws.size === 0) return;
    this.fanOut.enqueue(ch, new BinaryPublication(channel, payload));
  }

  /**
   * The resume position for a subscriber that joins `channels` now: every
   * event up to it is behind them, every later one reaches them. Publications
   * still queued for this turn's flush will reach them, so the position stops
   * just below the oldest of those.
   */
  positionFor(channels: string[]): number {
    let position = this.bus === null ? this.ids.current : this.lastBusId;
    const below = (ch: Channel | undefined) => {
      if (ch === undefined) return;
      for (const p of ch.pending) {
        if (p instanceof Publication) {
          if (p.id - 1 < position) position = p.id - 1;
          return;
        }
      }
    };
    for (const name of channels) below(this.channels.get(name));
    below(this.everyone);
    return position;
  }

  stats(): HubStats {
    return { channels: this.channels.size, messagesOut: this.messagesOut + this.fanOut.messagesOut, publications: this.publications };
  }

  private localAudience(channel: string): number {
    if (channel === BROADCAST_CHANNEL) return this.connectionCount;
    return this.subscriberCount(channel);
  }

  /** Keep in history and queue for the local subscribers; returns how many there are. */
  private deliver(publication: Publication): number {
    this.history.append(publication);
    this.publications++;
    if (this.tap !== null) this.tap(publication);
    const ch = publication.channel === BROADCAST_CHANNEL ? this.everyone : this.channels.get(publication.channel);
    if (ch === undefined) return 0;
    this.fanOut.enqueue(ch, publication);
    return ch.ws.size + ch.sse.size + ch.tcp.size + ch.held.size;
  }

  private fromBus(p: BusPublication): void {
    if (this.catchUp !== null) {
      this.catchUp.push(p);
      return;
    }
    if (p.id <= this.lastBusId) return;
    this.lastBusId = p.id;
    this.deliver(Publication.fromJson(p.id, p.channel, p.event, p.dataJson, p.text, p.publishedAt));
  }

  /**
   * A node that just joined the bus starts from the cluster's newest id: a
   * client joining here before any publication arrives still gets a resume
   * position that any node can serve. Called once, before clients connect.
   */
  startAt(id: number): void {
    if (id > this.lastBusId) this.lastBusId = id;
  }

  /**
   * The bus reconnected: publications may have gone by unseen. Hold what
   * arrives live, read what was missed on every local channel from durable
   * history, deliver both in id order without repeats.
   */
  private async recoverGap(resubscribed: Promise<void>): Promise<void> {
    if (this.bus === null) return;
    this.resubscribed = resubscribed;
    if (this.catchUp !== null) {
      // Another gap while catching up: read again once this pass is done.
      this.gapAgain = true;
      return;
    }
    // Hold live messages from the first moment: everything after `from` is
    // delivered once the reads below are merged with them, in id order.
    this.catchUp = [];
    this.history.resetCoverage();
    const from = this.lastBusId;
    const found: BusPublication[] = [];
    do {
      this.gapAgain = false;
      // A failed resubscribe is followed by another reconnect, hence another gap.
      await this.resubscribed.catch(() => undefined);
      const names = [...this.channels.keys(), BROADCAST_CHANNEL];
      await Promise.all(names.map(async (name) => found.push(...(await this.readMissed(name, from)))));
    } while (this.gapAgain);
    const live = this.catchUp;
    this.catchUp = null;
    // Sorted, so fromBus's `id <= lastBusId` check drops what was read twice.
    for (const p of [...found, ...live].sort((a, b) => a.id - b.id)) this.fromBus(p);
  }

  /**
   * What `channel` missed after `from`, from durable history. Redis is often
   * still coming back when the bus reconnects, so a failed read is retried
   * (live events stay held meanwhile) rather than skipped, which would be a
   * silent gap for the channel's subscribers.
   */
  private async readMissed(channel: string, from: number): Promise<BusPublication[]> {
    for (let attempt = 0; attempt < CATCH_UP_ATTEMPTS; attempt++) {
      try {
        const r = await this.bus!.since(channel, from);
        return r.ok ? r.entries : [];
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
    return [];
  }

  /** Write everything queued now (shutdown, tests). */
  flush(): void {
    this.fanOut.flush();
  }

  private detach(name: string, sub: Subscriber): void {
    const ch = this.channels.get(name);
    if (ch === undefined) return;
    this.fanOut.membershipChanged(sub);
    setOf(ch, sub).delete(sub);
    ch.held.delete(sub);
    if (ch.ws.size === 0 && ch.sse.size === 0 && ch.tcp.size === 0 && ch.held.size === 0) {
      this.channels.delete(name);
      // A vanished channel's queued publications have nobody left to reach.
      ch.pending.length = 0;
    }
  }
}

function setOf(ch: Channel, sub: Subscriber): Set<Subscriber> {
  return setOfTransport(ch, sub.transport);
}

function setOfTransport(ch: Channel, transport: Transport): Set<Subscriber> {
  return transport === Transport.ws ? ch.ws : transport === Transport.sse ? ch.sse : ch.tcp;
}

/** Sorted by id, repeats (a publication read from two sources) dropped. */
function inOrder(found: Publication[]): Publication[] {
  if (found.length < 2) return found;
  found.sort((a, b) => a.id - b.id);
  return found.filter((p, i) => i === 0 || p.id !== found[i - 1].id);
}

function isPending(ch: Channel, p: Publication): boolean {
  return ch.pending.length > 0 && ch.pending.includes(p);
}
