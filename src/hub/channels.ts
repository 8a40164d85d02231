import { FanOut, type FanOutChannel, type Pending } from './fanout.js';
import { Transport, type Subscriber } from './subscriber.js';
import { BROADCAST_CHANNEL } from './channel-name.js';

/**
 * Subscribers of one channel, split by transport so each chunk is built only
 * if someone needs it; `held` are still being caught up from durable history
 * (their live events are held back); `pending` waits for the next fan-out slice.
 */
export type Channel = FanOutChannel;

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

/**
 * Who is where: channels appear with their first subscriber and vanish with
 * the last; `everyone` (every connection) is the audience of broadcasts.
 * Subscribers being caught up are `held`: their live publications collect in
 * `holds` until their join merges them behind the replay.
 */
export class Channels {
  private readonly byName = new Map<string, Channel>();
  readonly everyone: Channel = newChannel(BROADCAST_CHANNEL);
  /** Live publications held back per subscriber while it is caught up. */
  readonly holds = new Map<Subscriber, Pending[]>();
  /** Channels a failed catch-up could not vouch for while the subscriber was being held: its join reports them. */
  readonly lostWhileHeld = new Map<Subscriber, Set<string>>();
  readonly fanOut = new FanOut((ch, items) => {
    for (const sub of ch.held) this.holds.get(sub)?.push(...items);
  });
  /** Presence, when some channels have it. */
  membership: MembershipListener | null = null;
  /** Told of every connection opened and closed (the user inbox). */
  watcher: ConnectionWatcher | null = null;

  get size(): number {
    return this.byName.size;
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  get(name: string): Channel | undefined {
    return this.byName.get(name);
  }

  /** The channel a publication on `name` goes to (`*`: every connection). */
  audience(name: string): Channel | undefined {
    return name === BROADCAST_CHANNEL ? this.everyone : this.byName.get(name);
  }

  /** The channel named `name`, made if new; `sub` is counted in it (not yet a receiving member). */
  enter(sub: Subscriber, name: string): Channel {
    let ch = this.byName.get(name);
    if (ch === undefined) {
      ch = newChannel(name);
      this.byName.set(name, ch);
    }
    if (!sub.channels.has(name)) {
      sub.channels.add(name);
      this.membership?.joined(sub, name);
    }
    return ch;
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

  leave(sub: Subscriber, channel: string): boolean {
    if (!sub.channels.delete(channel)) return false;
    this.detach(channel, sub);
    this.membership?.left(sub, channel);
    return true;
  }

  get connectionCount(): number {
    const e = this.everyone;
    return e.ws.size + e.sse.size + e.tcp.size + e.sseMessage.size + e.held.size;
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

  /** Live, no copy per call: see Hub.connections. */
  *connections(transport: Transport): IterableIterator<Subscriber> {
    yield* setOfTransport(this.everyone, transport);
    for (const sub of this.everyone.held) if (sub.transport === transport) yield sub;
  }

  subscriberCount(channel: string): number {
    const ch = this.byName.get(channel);
    return ch === undefined ? 0 : audienceSize(ch);
  }

  private detach(name: string, sub: Subscriber): void {
    const ch = this.byName.get(name);
    if (ch === undefined) return;
    this.fanOut.membershipChanged(sub);
    setOf(ch, sub).delete(sub);
    ch.held.delete(sub);
    if (audienceSize(ch) === 0) {
      this.byName.delete(name);
      // A vanished channel's queued publications have nobody left to reach.
      ch.pending.length = 0;
    }
  }
}

export function newChannel(name: string): Channel {
  return { name, ws: new Set(), sse: new Set(), tcp: new Set(), sseMessage: new Set(), held: new Set(), pending: [] };
}

/** Subscribers of `ch` on every transport, held ones included. */
export function audienceSize(ch: Channel): number {
  return ch.ws.size + ch.sse.size + ch.tcp.size + ch.sseMessage.size + ch.held.size;
}

export function setOf(ch: Channel, sub: Subscriber): Set<Subscriber> {
  return setOfTransport(ch, sub.transport);
}

function setOfTransport(ch: Channel, transport: Transport): Set<Subscriber> {
  return transport === Transport.ws
    ? ch.ws
    : transport === Transport.sse
      ? ch.sse
      : transport === Transport.tcp
        ? ch.tcp
        : ch.sseMessage;
}
