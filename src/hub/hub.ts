import { EventIdSequence } from './ids.js';
import { Publication, BinaryPublication } from './publication.js';
import { FanOut, publicationFrame, type FanOutChannel, type Pending } from './fanout.js';
import type { MemoryHistory } from './history.js';
import { Transport, type Subscriber } from './subscriber.js';
import { BROADCAST_CHANNEL } from './channel-name.js';
import type { Publisher, PublishOptions } from './publisher.js';
import type { BusPublication, ClusterBus, PublishOnce } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import { CatchUp, type CatchUpFailure, type CatchUpOptions } from './catch-up.js';
import type { Acks } from '../ack/acks.js';
import { recoveryFailedSseChunk, recoveryFailedSseMessageChunk, recoveryFailedWsFrame } from './notice.js';

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
  /** Bus gaps caught up from durable history. */
  catchUps: number;
  /** Channels a catch-up could not prove complete. */
  catchUpFailures: number;
  /** `recovery_failed` notices written to connected clients after a failed catch-up. */
  recoveryFailedNotices: number;
}

export interface HubOptions {
  /** Where the cluster catch-up logs what it does (none when omitted). */
  log?: Logger;
  catchUp?: CatchUpOptions;
}

export interface PublishResult {
  id: string;
  /** Local connections the publication was queued for. */
  delivered: number;
}

export interface JoinResult {
  /** Channels whose missed events could not be replayed (the client must refetch). */
  failed: string[];
  /**
   * What the subscriber missed, in id order: each publication's own frame for
   * its transport, the buffer it caches for fan-out and history (never a copy,
   * so clients resuming the same backlog share it). Write them before
   * anything else, under backpressure (transports/replay-pump.ts).
   */
  missed: Buffer[] | null;
}

/** How long a join waits for this node to reach a client's position that is ahead of it. */
const CATCH_UP_TO_CLIENT_MS = 2000;

/** What `eventsSince` found: publications in id order, and channels whose history no longer reaches back. */
export interface ReadResult {
  publications: Publication[];
  failed: string[];
}

/** Told of every publication as it is kept in history, before its fan-out (the long-poll transport). */
export type PublicationTap = (publication: Publication) => void;

const NO_REPLAY: JoinResult = Object.freeze({ failed: [], missed: null }) as JoinResult;

/** Told of every connection as it is added and removed (once each). */
export interface ConnectionWatcher {
  connected(sub: Subscriber): void;
  disconnected(sub: Subscriber): void;
}

/** Told of every channel a connection joins and leaves (presence). */
export interface MembershipListener {
  joined(sub: Subscriber, channel: string): void;
  left(sub: Subscriber, channel: string): void;
}

function newChannel(name: string): Channel {
  return { name, ws: new Set(), sse: new Set(), tcp: new Set(), sseMessage: new Set(), held: new Set(), pending: [] };
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
  /** Channels a failed catch-up could not vouch for while the subscriber was being held: its join reports them. */
  private readonly lostWhileHeld = new Map<Subscriber, Set<string>>();
  private readonly fanOut = new FanOut((ch, items) => {
    for (const sub of ch.held) this.holds.get(sub)?.push(...items);
  });
  /** Replays written by joins (fan-out writes are counted by the fan-out). */
  private messagesOut = 0;
  private publications = 0;
  /** Highest bus id delivered here. */
  private lastBusId = 0;
  /** Reads what went by unseen after a bus gap (null when alone). */
  private readonly catchUp: CatchUp | null;
  private recoveryFailedNotices = 0;
  /** Presence, when some channels have it. */
  private membership: MembershipListener | null = null;
  /** Alone only: highest version published per channel and once-key (with a bus, Redis keeps it). */
  private readonly onceVersions = new Map<string, number>();
  /**
   * `ack: true` subscriptions (src/ack/), set once at boot. The fan-out never reads it: an
   * acknowledged subscription is a subscriber of its own, so ordinary ones pay nothing.
   */
  acks: Acks | null = null;
  /** Told of every connection opened and closed (the user inbox), set once at boot. */
  watcher: ConnectionWatcher | null = null;
  /** Checked on every publication (not every delivery): a plain field. */
  private tap: PublicationTap | null = null;
  /**
   * Told how many local connections a bus publication carrying a tally token
   * was queued for (src/cluster/delivery-tally.ts), set once at boot. Only
   * publications whose publisher asked for a cluster count carry one.
   */
  tallied: ((p: BusPublication, delivered: number) => void) | null = null;

  constructor(history: MemoryHistory, ids: EventIdSequence, bus: ClusterBus | null = null, options: HubOptions = {}) {
    this.history = history;
    this.ids = ids;
    this.bus = bus;
    this.catchUp = null;
    if (bus !== null) {
      this.catchUp = new CatchUp(
        bus,
        {
          position: () => this.lastBusId,
          channelNames: () => [...this.channels.keys(), BROADCAST_CHANNEL],
          deliver: (p) => this.fromBus(p),
          resetCoverage: () => this.history.resetCoverage(),
          lost: (channels, reason) => this.tellLost(channels, reason),
        },
        options.log ?? null,
        options.catchUp,
      );
      // Nothing is known locally until the bus delivers: resumes go to the bus.
      history.resetCoverage();
      bus.onPublication((p) => this.fromBus(p));
      // This node delivered its own binary messages when they were sent.
      bus.onBinary((b) => {
        if (b.node !== bus.nodeId) this.deliverBinary(b.channel, b.payload);
      });
      // A throw while delivering must not become an unhandled rejection (it would end the process).
      bus.onGap((resubscribed) =>
        this.catchUp!.gap(resubscribed).catch((err: Error) => {
          if (options.log) options.log.error({ err }, 'cluster catch-up threw');
          else console.error('cluster catch-up threw', err);
        }),
      );
    }
  }

  // ---- membership -------------------------------------------------------

  /** Report joins and leaves to `listener` (one listener; null to stop). */
  setMembershipListener(listener: MembershipListener | null): void {
    this.membership = listener;
  }

  addConnection(sub: Subscriber): void {
    setOf(this.everyone, sub).add(sub);
    this.watcher?.connected(sub);
  }

  removeConnection(sub: Subscriber): void {
    this.fanOut.membershipChanged(sub);
    const was = setOf(this.everyone, sub).delete(sub);
    if (this.everyone.held.delete(sub) || was) this.watcher?.disconnected(sub);
    this.holds.delete(sub);
    this.lostWhileHeld.delete(sub);
    for (const name of sub.channels) {
      this.detach(name, sub);
      this.membership?.left(sub, name);
    }
    sub.channels.clear();
  }

  get connectionCount(): number {
    return this.everyone.ws.size + this.everyone.sse.size + this.everyone.tcp.size + this.everyone.sseMessage.size + this.everyone.held.size;
  }

  countByTransport(): { ws: number; sse: number; tcp: number } {
    let ws = this.everyone.ws.size;
    let sse = this.everyone.sse.size + this.everyone.sseMessage.size;
    let tcp = this.everyone.tcp.size;
    for (const sub of this.everyone.held) {
      if (sub.transport === Transport.ws) ws++;
      else if (sub.transport === Transport.sse || sub.transport === Transport.sseMessage) sse++;
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
    // A client can be ahead of this node (its position came from a node that got the
    // publications first): what is queued or still to come here up to its position must
    // not reach it live. Rare, and then it waits like a durable-history read.
    if (remote.length === 0 && !targets.some((ch) => this.behind(ch, since))) {
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
    return this.joinFromBus(sub, channels, targets, remote, since, failed, missed, withBroadcasts);
  }

  private async joinFromBus(
    sub: Subscriber,
    channels: Channel[],
    targets: Channel[],
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
      // Entries past what this node has queued for the channel reach the
      // subscriber live (held now, or fanned out once it is a member):
      // replaying them too would put a repeated, out-of-order id on the wire.
      const upTo = this.positionOf(ch);
      for (const e of r.entries) {
        if (e.id > upTo) break;
        missed.push(Publication.fromJson(e.id, e.channel, e.event, e.dataJson, e.text, e.publishedAt));
      }
    });
    // Until this node has queued everything up to the client's position, and formed it into
    // rounds (which hand a held subscriber its items): bounded, the node may never get there.
    const deadline = Date.now() + CATCH_UP_TO_CLIENT_MS;
    while (targets.some((ch) => this.behind(ch, since)) && Date.now() < deadline && this.holds.has(sub)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const held = this.holds.get(sub);
    this.holds.delete(sub);
    if (held === undefined) return NO_REPLAY; // disconnected meanwhile
    const lost = this.lostWhileHeld.get(sub);
    if (lost !== undefined) {
      this.lostWhileHeld.delete(sub);
      for (const name of lost) if (name !== BROADCAST_CHANNEL && !failed.includes(name)) failed.push(name);
    }
    for (const p of held) if (p instanceof Publication && p.id > since) missed.push(p);
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
    const t = sub.transport;
    return { failed, missed: unique.map((p) => publicationFrame(p, t)) };
  }

  unsubscribe(sub: Subscriber, channel: string): boolean {
    if (!sub.channels.delete(channel)) return false;
    this.detach(channel, sub);
    this.membership?.left(sub, channel);
    return true;
  }

  /** Every channel with a local subscriber and how many it has (the admin report walks it). */
  *channelSizes(): IterableIterator<[string, number]> {
    for (const [name, ch] of this.channels) yield [name, ch.ws.size + ch.sse.size + ch.tcp.size + ch.sseMessage.size + ch.held.size];
  }

  hasChannel(channel: string): boolean {
    return this.channels.has(channel);
  }

  subscriberCount(channel: string): number {
    const ch = this.channels.get(channel);
    return ch === undefined ? 0 : ch.ws.size + ch.sse.size + ch.tcp.size + ch.sseMessage.size + ch.held.size;
  }

  // ---- publishing -------------------------------------------------------

  /**
   * Publish one event to a channel (`*`: every connection). Alone, the id is
   * assigned and the event queued right away; in a cluster, it resolves once
   * the bus has numbered and stored it, and delivery follows from the bus.
   */
  async publishEvent(channel: string, event: string, data: unknown, tally?: string): Promise<PublishResult> {
    if (this.bus === null) return this.publishNow(channel, event, data);
    const delivered = this.localAudience(channel);
    const dataJson = JSON.stringify(data) ?? 'null';
    const id = await this.bus.publish(channel, event, dataJson, typeof data === 'string', undefined, tally);
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
    let position = this.positionOf(this.everyone);
    for (const name of channels) {
      const ch = this.channels.get(name);
      if (ch !== undefined) position = Math.min(position, this.positionOf(ch));
    }
    return position;
  }

  /** Every publication on `ch` up to this id was fanned out (or is held for its catching-up subscribers). */
  private positionOf(ch: Channel): number {
    const position = this.bus === null ? this.ids.current : this.lastBusId;
    for (const p of ch.pending) if (p instanceof Publication) return Math.min(position, p.id - 1);
    return position;
  }

  /**
   * Publications up to `position` are still queued on `ch`, or (cluster) not received yet:
   * a subscriber at `position` joined now would get them live a second time.
   */
  private behind(ch: Channel, position: number): boolean {
    for (const p of ch.pending) if (p instanceof Publication) return p.id <= position;
    return this.bus !== null && this.lastBusId < position;
  }

  /** True while a bus gap is being caught up (live publications are held). */
  get catchingUp(): boolean {
    return this.catchUp?.active ?? false;
  }

  stats(): HubStats {
    const catchUp = this.catchUp?.stats();
    return {
      channels: this.channels.size,
      messagesOut: this.messagesOut + this.fanOut.messagesOut,
      publications: this.publications,
      catchUps: catchUp?.catchUps ?? 0,
      catchUpFailures: catchUp?.catchUpFailures ?? 0,
      recoveryFailedNotices: this.recoveryFailedNotices,
    };
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
    return ch.ws.size + ch.sse.size + ch.tcp.size + ch.sseMessage.size + ch.held.size;
  }

  private fromBus(p: BusPublication): void {
    if (this.catchUp!.hold(p)) return;
    if (p.id <= this.lastBusId) return;
    this.lastBusId = p.id;
    const delivered = this.deliver(Publication.fromJson(p.id, p.channel, p.event, p.dataJson, p.text, p.publishedAt));
    if (p.tally !== undefined && this.tallied !== null) this.tallied(p, delivered);
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
   * A catch-up could not prove `names` complete: tell their connected
   * subscribers `recovery_failed` (one notice per channel on WS, one naming
   * them all per SSE stream), after everything already queued for them and
   * before what follows the gap. Subscribers still joining (held) are told
   * through their join's result, which comes before anything else for them.
   */
  private tellLost(names: string[], reason: CatchUpFailure): void {
    this.fanOut.flush();
    const sse = new Map<Subscriber, string[]>();
    for (const name of names) {
      const ch = name === BROADCAST_CHANNEL ? this.everyone : this.channels.get(name);
      if (ch === undefined) continue;
      if (ch.ws.size > 0) {
        const frame = recoveryFailedWsFrame(name, reason);
        for (const sub of ch.ws) {
          sub.write(frame);
          this.recoveryFailedNotices++;
        }
      }
      for (const sub of ch.sseMessage) {
        const list = sse.get(sub);
        if (list === undefined) sse.set(sub, [name]);
        else list.push(name);
      }
      for (const sub of ch.sse) {
        const list = sse.get(sub);
        if (list === undefined) sse.set(sub, [name]);
        else list.push(name);
      }
      for (const sub of ch.held) {
        const lost = this.lostWhileHeld.get(sub);
        if (lost === undefined) this.lostWhileHeld.set(sub, new Set([name]));
        else lost.add(name);
      }
    }
    for (const [sub, channels] of sse) {
      sub.write(sub.transport === Transport.sseMessage ? recoveryFailedSseMessageChunk(channels, reason) : recoveryFailedSseChunk(channels, reason));
      this.recoveryFailedNotices++;
    }
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
    if (ch.ws.size === 0 && ch.sse.size === 0 && ch.tcp.size === 0 && ch.sseMessage.size === 0 && ch.held.size === 0) {
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
  return transport === Transport.ws ? ch.ws : transport === Transport.sse ? ch.sse : transport === Transport.tcp ? ch.tcp : ch.sseMessage;
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
