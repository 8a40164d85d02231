import { type ClientError, ClientErrorCode } from './errors.js';
import type { Outbox } from './outbox.js';

/**
 * The WS client's channels, their resume positions, and the join that
 * resumes each one. Event ids are decimal strings below 2^53 that rise within
 * a channel, so `Number` compares them.
 */
export interface JoinReply {
  channel: string;
  /** Present when the join carried `since`: `false` means events were lost (see `recovery_failed`). */
  recovered?: boolean;
  /** The subscription is acknowledged (`joinChannel(channel, { ack: true })`). */
  ack?: boolean;
}

export interface JoinOptions {
  /**
   * At-least-once delivery: the server sends an event again (same id) until
   * the client acknowledges it; the client acknowledges once the `event`
   * handlers returned (or the promises they returned resolved) and hands a
   * redelivered event to them only if they failed on it before.
   */
  ack?: boolean;
  /**
   * Resume after this event id on the first join (one seen on another
   * transport, or in an earlier session); later re-joins resume from the
   * last event delivered.
   */
  since?: string;
}

interface Waiter {
  resolve(reply: JoinReply): void;
  reject(err: Error): void;
}

/** @internal */
export class Subscription {
  /** Id of the last event delivered to the app on this channel: the resume position. */
  lastId: string | null = null;
  /** The server confirmed the join on the current connection. */
  joined = false;
  /** A join_channel is on the wire on the current connection. */
  inFlight = false;
  waiters: Waiter[] = [];
  /** Joined with `ack: true`. */
  ack = false;

  constructor(readonly channel: string) {}

  settle(reply: JoinReply | null, err?: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (err !== undefined) w.reject(err);
      else w.resolve(reply as JoinReply);
    }
  }
}

/** @internal */
export class Subscriptions {
  private readonly map = new Map<string, Subscription>();

  get(channel: string): Subscription | undefined {
    return this.map.get(channel);
  }

  add(channel: string): Subscription {
    let sub = this.map.get(channel);
    if (sub === undefined) {
      sub = new Subscription(channel);
      this.map.set(channel, sub);
    }
    return sub;
  }

  delete(channel: string): Subscription | undefined {
    const sub = this.map.get(channel);
    this.map.delete(channel);
    return sub;
  }

  values(): IterableIterator<Subscription> {
    return this.map.values();
  }

  channels(): string[] {
    return [...this.map.keys()];
  }

  /** Send `sub`'s join_channel, resuming after its position; the reply settles its waiters. */
  join(sub: Subscription, outbox: Outbox): void {
    sub.inFlight = true;
    const data: { channel: string; since?: string; ack?: true } = { channel: sub.channel };
    if (sub.lastId !== null) data.since = sub.lastId;
    if (sub.ack) data.ack = true;
    outbox.request({ type: 'command', command: 'join_channel', data }).then(
      (reply) => {
        if (this.map.get(sub.channel) !== sub) return; // left meanwhile
        sub.inFlight = false;
        sub.joined = true;
        // A channel with no event seen yet resumes from the position the server gave.
        const lastId = (reply as { last_id?: unknown } | undefined)?.last_id;
        if (sub.lastId === null && typeof lastId === 'string' && /^\d+$/.test(lastId)) sub.lastId = lastId;
        sub.settle((reply as JoinReply | undefined) ?? { channel: sub.channel });
      },
      (err: ClientError) => {
        // The next connection re-joins; its reply settles the waiters.
        if (err.code === ClientErrorCode.connectionLost || err.code === ClientErrorCode.closed) return;
        sub.inFlight = false;
        if (this.map.get(sub.channel) === sub) this.map.delete(sub.channel);
        sub.settle(null, err);
      },
    );
  }

  /** Forget per-connection flags (the socket is gone); positions stay. */
  resetConnection(): void {
    for (const sub of this.map.values()) {
      sub.joined = false;
      sub.inFlight = false;
    }
  }

  /**
   * Guard against duplicates: false for an event at or below the channel's
   * position (a replay overlapping what was already delivered), else advance.
   */
  accept(channel: string, id: string | null): boolean {
    const sub = this.map.get(channel);
    if (sub === undefined || id === null) return true;
    const n = Number(id);
    if (!Number.isFinite(n)) return true;
    if (sub.lastId !== null && n <= Number(sub.lastId)) return false;
    sub.lastId = id;
    return true;
  }
}
