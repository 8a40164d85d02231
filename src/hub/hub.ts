import { Publication, BinaryPublication } from './publication.js';
import type { MemoryHistory } from './history.js';
import type { Transport, Subscriber } from './subscriber.js';
import { BROADCAST_CHANNEL } from './channel-name.js';
import type { Publisher, PublishOptions } from './publisher.js';
import type { BusPublication, ClusterBus, PublishOnce } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import { CatchUp, type CatchUpOptions } from './catch-up.js';
import type { Acks } from '../ack/acks.js';
import { tellRecoveryFailed } from './notice.js';
import { Channels, audienceSize, type ConnectionWatcher, type MembershipListener } from './channels.js';
import { Resume, type JoinResult, type ReadResult } from './resume.js';

export type { ConnectionWatcher, MembershipListener } from './channels.js';
export type { JoinResult, ReadResult } from './resume.js';

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
  /** Where the cluster catch-up and failed resumes log what they do (none when omitted). */
  log?: Logger;
  catchUp?: CatchUpOptions;
}

export interface PublishResult {
  id: string;
  /** Local connections the publication was queued for. */
  delivered: number;
}

/** Told of every publication as it is kept in history, before its fan-out (the long-poll transport). */
export type PublicationTap = (publication: Publication) => void;

/**
 * The realtime core: channels appear with their first subscriber and vanish
 * with the last. Publications are queued per channel and written by the
 * fan-out (fanout.ts): framed once, concatenated once per turn, one write per
 * subscriber, large channels in time slices that later publications join.
 *
 * Ids and durable history come from the bus (src/bus/): every publication,
 * this node's own too, is delivered when the bus hands it back, so all nodes
 * see one order. The in-process bus hands it back before `publish` returns,
 * so alone a publication is queued in its publisher's turn.
 */
export class Hub implements Publisher {
  /** Recent publications this node has delivered (alone: the whole history). */
  readonly history: MemoryHistory;
  private readonly bus: ClusterBus;
  private readonly channels = new Channels();
  private readonly resume: Resume;
  private publications = 0;
  /** Highest bus id delivered here. */
  private lastBusId = 0;
  /** Reads what went by unseen after a bus gap. */
  private readonly catchUp: CatchUp;
  private recoveryFailedNotices = 0;
  /**
   * `ack: true` subscriptions (src/ack/), set once at boot. The fan-out never reads it: an
   * acknowledged subscription is a subscriber of its own, so ordinary ones pay nothing.
   */
  acks: Acks | null = null;
  /** Checked on every publication (not every delivery): a plain field. */
  private tap: PublicationTap | null = null;
  /**
   * Told how many local connections a bus publication carrying a tally token
   * was queued for (src/cluster/delivery-tally.ts), set once at boot. Only
   * publications whose publisher asked for a cluster count carry one.
   */
  tallied: ((p: BusPublication, delivered: number) => void) | null = null;

  constructor(history: MemoryHistory, bus: ClusterBus, options: HubOptions = {}) {
    this.history = history;
    this.bus = bus;
    const log = options.log ?? null;
    this.resume = new Resume(this.channels, history, bus, () => this.lastBusId, log);
    this.catchUp = new CatchUp(
      bus,
      {
        position: () => this.lastBusId,
        channelNames: () => [...this.channels.names(), BROADCAST_CHANNEL],
        deliver: (p) => this.fromBus(p),
        resetCoverage: () => this.history.resetCoverage(),
        lost: (channels, reason) => {
          this.recoveryFailedNotices += tellRecoveryFailed(this.channels, channels, reason);
        },
      },
      log,
      options.catchUp,
    );
    bus.onPublication((p) => this.fromBus(p));
    // This node delivered its own binary messages when they were sent.
    bus.onBinary((b) => {
      if (b.node !== bus.nodeId) this.deliverBinary(b.channel, b.payload);
    });
    // A throw while delivering must not become an unhandled rejection (it would end the process).
    bus.onGap((resubscribed) =>
      this.catchUp.gap(resubscribed).catch((err: Error) => {
        if (log !== null) log.error({ err }, 'cluster catch-up threw');
        else console.error('cluster catch-up threw', err);
      }),
    );
  }

  /**
   * Where this node starts: the bus's newest id (`bus.currentId()`), so a
   * client joining before any publication arrives still gets a resume
   * position that any node can serve. Called once, before clients connect.
   */
  startAt(id: number): void {
    if (id > this.lastBusId) this.lastBusId = id;
  }

  // ---- membership -------------------------------------------------------

  /** Told of every connection opened and closed (the user inbox), set once at boot. */
  get watcher(): ConnectionWatcher | null {
    return this.channels.watcher;
  }

  set watcher(watcher: ConnectionWatcher | null) {
    this.channels.watcher = watcher;
  }

  /** Report joins and leaves to `listener` (one listener; null to stop). */
  setMembershipListener(listener: MembershipListener | null): void {
    this.channels.membership = listener;
  }

  addConnection(sub: Subscriber): void {
    this.channels.addConnection(sub);
  }

  removeConnection(sub: Subscriber): void {
    this.channels.removeConnection(sub);
  }

  get connectionCount(): number {
    return this.channels.connectionCount;
  }

  countByTransport(): { ws: number; sse: number; tcp: number } {
    return this.channels.countByTransport();
  }

  /**
   * All connections of one transport (keepalive sweeps, shutdown), live: no copy per call — the
   * sweeps walk them 20 times per interval. Removal during the walk is safe (Set iteration);
   * a caller that closes connections as it goes and needs a fixed list copies it.
   */
  connections(transport: Transport): IterableIterator<Subscriber> {
    return this.channels.connections(transport);
  }

  /**
   * Join channels; with `since`, also collect what the subscriber missed on
   * them (broadcasts included when `withBroadcasts`), in id order. Synchronous
   * when local history covers the gap; otherwise the subscriber's live events
   * are held back while durable history is read, then merged behind the replay.
   * Callers write `missed` before anything else reaches the subscriber.
   */
  join(
    sub: Subscriber,
    names: string[],
    since: number | null,
    withBroadcasts = false,
  ): JoinResult | Promise<JoinResult> {
    return this.resume.join(sub, names, since, withBroadcasts);
  }

  /**
   * Every publication after `since` on `names` (and broadcasts when
   * `withBroadcasts`), in id order, read without joining: from local history
   * when it covers `since`, else from the bus's durable history. Publications
   * still queued for fan-out are included (they are in history already).
   */
  eventsSince(names: string[], since: number, withBroadcasts: boolean): ReadResult | Promise<ReadResult> {
    return this.resume.eventsSince(names, since, withBroadcasts);
  }

  /** The newest id this node has kept in history: everything up to it is readable by `eventsSince`. */
  get position(): number {
    return this.lastBusId;
  }

  /**
   * The resume position for a subscriber that joins `channels` now: every
   * event up to it is behind them, every later one reaches them. Publications
   * still queued for this turn's flush will reach them, so the position stops
   * just below the oldest of those.
   */
  positionFor(channels: string[]): number {
    return this.resume.positionFor(channels);
  }

  /** Tell `tap` of every publication kept from now on (one tap; null to stop). */
  setPublicationTap(tap: PublicationTap | null): void {
    this.tap = tap;
  }

  unsubscribe(sub: Subscriber, channel: string): boolean {
    return this.channels.leave(sub, channel);
  }

  /** Every channel with a local subscriber and how many it has (the admin report walks it). */
  *channelSizes(): IterableIterator<[string, number]> {
    for (const name of this.channels.names()) yield [name, this.channels.subscriberCount(name)];
  }

  hasChannel(channel: string): boolean {
    return this.channels.get(channel) !== undefined;
  }

  subscriberCount(channel: string): number {
    return this.channels.subscriberCount(channel);
  }

  // ---- publishing -------------------------------------------------------

  /**
   * Publish one event to a channel (`*`: every connection). Resolves once the
   * bus has numbered and stored it; delivery follows from the bus (alone: in
   * this call, before it resolves).
   */
  async publishEvent(channel: string, event: string, data: unknown, tally?: string): Promise<PublishResult> {
    const delivered = this.localAudience(channel);
    const id = await this.bus.publish(
      channel,
      event,
      JSON.stringify(data) ?? 'null',
      typeof data === 'string',
      undefined,
      tally,
    );
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
   * The check is atomic with the publish (in Redis, in one script), so a
   * change republished after a crash or a retry reaches clients exactly once.
   */
  async publishOnce(channel: string, event: string, data: unknown, once: PublishOnce): Promise<string | null> {
    const id = await this.bus.publish(channel, event, JSON.stringify(data) ?? 'null', typeof data === 'string', once);
    return id === null ? null : String(id);
  }

  /**
   * A binary message goes to the channel's WebSocket subscribers on every
   * node: here at once (in order with the channel's text events on this
   * node), on the others through the bus. Not numbered and not kept in
   * history: a binary message is not resumed. Resolves once the bus took it;
   * a rejection means only this node's subscribers got it.
   */
  publishBinary(channel: string, payload: Buffer): Promise<void> {
    this.deliverBinary(channel, payload);
    return this.bus.publishBinary(channel, payload);
  }

  private deliverBinary(channel: string, payload: Buffer): void {
    const ch = this.channels.get(channel);
    if (ch === undefined || ch.ws.size === 0) return;
    this.channels.fanOut.enqueue(ch, new BinaryPublication(channel, payload));
  }

  /** True while a bus gap is being caught up (live publications are held). */
  get catchingUp(): boolean {
    return this.catchUp.active;
  }

  stats(): HubStats {
    const catchUp = this.catchUp.stats();
    return {
      channels: this.channels.size,
      messagesOut: this.resume.messagesOut + this.channels.fanOut.messagesOut,
      publications: this.publications,
      catchUps: catchUp.catchUps,
      catchUpFailures: catchUp.catchUpFailures,
      recoveryFailedNotices: this.recoveryFailedNotices,
    };
  }

  private localAudience(channel: string): number {
    if (channel === BROADCAST_CHANNEL) return this.channels.connectionCount;
    return this.channels.subscriberCount(channel);
  }

  private fromBus(p: BusPublication): void {
    if (this.catchUp.hold(p)) return;
    if (p.id <= this.lastBusId) return;
    this.lastBusId = p.id;
    const delivered = this.deliver(Publication.fromJson(p.id, p.channel, p.event, p.dataJson, p.text, p.publishedAt));
    if (p.tally !== undefined && this.tallied !== null) this.tallied(p, delivered);
  }

  /** Keep in history and queue for the local subscribers; returns how many it was queued for. */
  private deliver(publication: Publication): number {
    this.history.append(publication);
    this.publications++;
    if (this.tap !== null) this.tap(publication);
    const ch = this.channels.audience(publication.channel);
    if (ch === undefined) return 0;
    this.channels.fanOut.enqueue(ch, publication);
    return audienceSize(ch);
  }

  /** Write everything queued now (shutdown, tests). */
  flush(): void {
    this.channels.fanOut.flush();
  }
}
