import { Transport, type Subscriber } from '../hub/subscriber.js';
import { encodeTextFrame } from '../wire/ws-frame.js';
import { TimerWheel, type WheelEntry } from '../transports/poll/wheel.js';
import type { ReplayTarget } from '../transports/replay-pump.js';
import type { AckPositions } from './positions.js';
import { throttledWarn } from '../cache/throttle.js';
import type { Logger } from '../logger.js';
import type { InboxStore } from './inbox.js';

/** What an acknowledged subscription needs of the connection it belongs to. */
export interface AckConnection extends ReplayTarget {
  readonly transport: Transport;
  readonly clientId: string;
  readonly userId: string | null;
}

export interface AcksOptions {
  /** ACK_TIMEOUT_MS: an event not acknowledged this long after it was written is written again. */
  timeoutMs: number;
  /** Unacknowledged events one subscription may have; past it the client is a slow consumer. */
  window: number;
  /** Where the acknowledged position per user and channel is kept (Redis in a cluster). */
  positions: AckPositions;
  /** Take a closed or left subscription out of the hub. */
  detach(sub: AckSubscription): void;
  /** The user inbox, acknowledged through the `user:<id>` subscription (null: none). */
  inbox?: InboxStore | null;
  /** Where failed position writes are reported (throttled). */
  log?: Logger;
}

/** The default per-subscription window: a client this far behind on acks is not reading them. */
export const ACK_WINDOW = 1000;

interface Unacked {
  id: number;
  /** The event's JSON as first written, so a redelivery adds only the flag. */
  json: string;
  sentAt: number;
}

/**
 * One `ack: true` subscription of one connection. It stands in the hub's
 * channel in place of the connection, so the fan-out writes to it exactly as
 * to any subscriber (same chunk, no per-delivery branch for anyone else);
 * here the chunk's events are noted by id and passed on byte for byte.
 * One wheel entry per subscription, due when its oldest unacknowledged
 * event is: a timer per event would be thousands of timers for one client.
 */
export class AckSubscription implements Subscriber, WheelEntry {
  readonly transport: Transport;
  readonly clientId: string;
  readonly userId: string | null;
  readonly channels = new Set<string>();
  fanoutMark = 0;
  fanoutChangedAt = 0;
  wheelTick = -1;
  /** Oldest first; ids ascending (the fan-out and replays write in id order). */
  private unacked: Unacked[] = [];
  private head = 0;
  closed = false;
  redeliveries = 0;
  /** Carries the user's inbox: its acks remove inbox entries too. */
  inbox = false;
  /**
   * The user's stored position for the channel is set (or there is no user). Until then the
   * first event written stores the position just before it: a join position of 0 (nothing
   * published yet) is not one a cluster node can resume from.
   */
  positionKnown = true;

  constructor(
    readonly conn: AckConnection,
    readonly channel: string,
    private readonly acks: Acks,
  ) {
    this.transport = conn.transport;
    this.clientId = conn.clientId;
    this.userId = conn.userId;
  }

  get pending(): number {
    return this.unacked.length - this.head;
  }

  /** From the fan-out: note the chunk's events, then write it unchanged. */
  write(chunk: Buffer): void {
    if (this.closed) return;
    this.observe(chunk);
    this.conn.write(chunk);
  }

  /** Note the events in `chunk` (already written, or about to be, by a replay). */
  observe(chunk: Buffer): void {
    const now = Date.now();
    const before = this.pending;
    const list = this.unacked;
    for (const m of this.acks.parse(chunk, this.transport)) {
      // Ids rise on a subscription; one at or below the newest tracked (a replay on a re-join)
      // is tracked already or was acknowledged: the list stays in id order for cumulative acks.
      if (list.length > this.head && m.id <= list[list.length - 1].id) continue;
      if (m.id <= this.lastAcked) continue;
      list.push({ id: m.id, json: m.json, sentAt: now });
      if (!this.positionKnown && this.userId !== null) {
        this.positionKnown = true;
        this.acks.savePosition(this.userId, this.channel, m.id - 1);
      }
    }
    if (this.pending > this.acks.window) {
      this.acks.overflows++;
      this.conn.dropSlow();
      return;
    }
    if (before === 0 && this.pending > 0) this.acks.schedule(this, this.acks.timeoutMs);
  }

  /** Everything up to `id` is acknowledged; false when nothing written here had that id or a later one. */
  ack(id: number): boolean {
    const list = this.unacked;
    let i = this.head;
    while (i < list.length && list[i].id <= id) i++;
    const known = i > this.head || id <= this.lastAcked;
    this.head = i;
    if (this.head === list.length) {
      this.unacked = [];
      this.head = 0;
      this.acks.unschedule(this);
    } else if (this.head > 64 && this.head * 2 > list.length) {
      this.unacked = list.slice(this.head);
      this.head = 0;
    }
    if (id > this.lastAcked) this.lastAcked = id;
    return known;
  }

  lastAcked = 0;

  /** Whether `id` was written here and is not acknowledged yet. */
  has(id: number): boolean {
    const list = this.unacked;
    for (let i = this.head; i < list.length; i++) if (list[i].id === id) return true;
    return false;
  }

  /** The wheel fired: write again what is past its deadline, oldest first. */
  redeliver(now: number): void {
    if (this.closed) return;
    const deadline = now - this.acks.timeoutMs;
    const list = this.unacked;
    const parts: Buffer[] = [];
    // Kept in id order (acks are cumulative by id); what is due is not always a prefix once
    // some were re-sent, so every pending one is looked at — at most the window, once per timeout.
    let next = Infinity;
    for (let i = this.head; i < list.length; i++) {
      const u = list[i];
      if (u.sentAt <= deadline) {
        u.sentAt = now;
        parts.push(frameFor(redeliveredJson(u.json), this.transport));
      }
      if (u.sentAt < next) next = u.sentAt;
    }
    // Written in one piece, in id order: the client sees the oldest again first.
    if (parts.length > 0) {
      this.redeliveries += parts.length;
      this.acks.redelivered += parts.length;
      this.conn.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    }
    if (next !== Infinity) this.acks.schedule(this, Math.max(1, next + this.acks.timeoutMs - now));
  }

  close(): void {
    this.closed = true;
    this.unacked = [];
    this.head = 0;
    this.acks.unschedule(this);
  }
}

/**
 * Every `ack: true` subscription on this node, and the one wheel that
 * redelivers for all of them. Subscriptions without `ack` never reach here.
 */
export class Acks {
  readonly timeoutMs: number;
  readonly window: number;
  readonly positions: AckPositions;
  readonly inbox: InboxStore | null;
  private readonly detach: (sub: AckSubscription) => void;
  private readonly wheel: TimerWheel<AckSubscription>;
  /** Per connection: its acknowledged subscriptions by channel. */
  private readonly byConn = new WeakMap<AckConnection, Map<string, AckSubscription>>();
  subscriptions = 0;
  redelivered = 0;
  overflows = 0;
  acked = 0;
  /** Acknowledged positions not stored (Redis away): those events come again next session, redelivered. */
  positionWriteFailures = 0;
  private readonly warn: ((obj: object, msg: string) => void) | null;

  constructor(options: AcksOptions) {
    this.timeoutMs = options.timeoutMs;
    this.window = options.window;
    this.positions = options.positions;
    this.inbox = options.inbox ?? null;
    this.detach = options.detach;
    this.warn = options.log === undefined ? null : throttledWarn(options.log);
    // A tenth of the timeout (at least 10 ms): a redelivery comes at most that late.
    this.wheel = new TimerWheel(Math.max(10, Math.floor(options.timeoutMs / 10)), (sub) => sub.redeliver(Date.now()));
  }

  /**
   * Store `userId`'s acknowledged position on `channel`. A failed write is
   * counted and logged, not retried: the stored position stays at an earlier
   * ack, so the next session gets these events again (redelivered) and none
   * is lost.
   */
  savePosition(userId: string, channel: string, id: number): void {
    this.positions.set(userId, channel, id).catch((err: Error) => {
      this.positionWriteFailures++;
      this.warn?.(
        { err: err.message, failures: this.positionWriteFailures },
        'acknowledged position not stored: those events will be redelivered',
      );
    });
  }

  get(conn: AckConnection, channel: string): AckSubscription | undefined {
    return this.byConn.get(conn)?.get(channel);
  }

  /** The connection's subscription that was sent `id` and has not had it acknowledged. */
  find(conn: AckConnection, id: number): AckSubscription | undefined {
    const subs = this.byConn.get(conn);
    if (subs === undefined) return undefined;
    for (const sub of subs.values()) if (sub.has(id)) return sub;
    return undefined;
  }

  count(conn: AckConnection): number {
    return this.byConn.get(conn)?.size ?? 0;
  }

  /** The connection's subscription to `channel`, made on first call; detached when the socket closes. */
  open(conn: AckConnection, channel: string): AckSubscription {
    let subs = this.byConn.get(conn);
    if (subs === undefined) {
      subs = new Map();
      this.byConn.set(conn, subs);
      const all = subs;
      conn.socket.once('close', () => {
        for (const sub of all.values()) {
          this.remove(sub);
          this.detach(sub);
        }
      });
    }
    let sub = subs.get(channel);
    if (sub === undefined) {
      sub = new AckSubscription(conn, channel, this);
      subs.set(channel, sub);
      this.subscriptions++;
    }
    return sub;
  }

  /** End the connection's subscriptions whose channel `denied` names (a refreshed token no longer grants them). */
  leaveWhere(conn: AckConnection, denied: (channel: string) => boolean): string[] {
    const subs = this.byConn.get(conn);
    if (subs === undefined) return [];
    const left: string[] = [];
    for (const sub of [...subs.values()]) {
      if (!denied(sub.channel)) continue;
      this.remove(sub);
      this.detach(sub);
      left.push(sub.channel);
    }
    return left;
  }

  /** Forget a subscription (leave or close). */
  remove(sub: AckSubscription): void {
    const subs = this.byConn.get(sub.conn);
    if (subs?.get(sub.channel) === sub) {
      subs.delete(sub.channel);
      this.subscriptions--;
    }
    sub.close();
  }

  schedule(sub: AckSubscription, delayMs: number): void {
    this.wheel.remove(sub);
    this.wheel.add(sub, delayMs);
  }

  unschedule(sub: AckSubscription): void {
    this.wheel.remove(sub);
  }

  /**
   * The events in `chunk`. The fan-out writes one chunk to every subscriber of a round, so the
   * last one parsed is kept: N acknowledged subscribers parse it once, not N times.
   */
  parse(chunk: Buffer, transport: Transport): ReadonlyArray<{ id: number; json: string }> {
    if (chunk === this.lastChunk && transport === this.lastTransport) return this.lastParsed;
    const out: { id: number; json: string }[] = [];
    for (const json of messagesOf(chunk, transport)) {
      const id = eventId(json);
      if (id !== null) out.push({ id, json });
    }
    this.lastChunk = chunk;
    this.lastTransport = transport;
    this.lastParsed = out;
    return out;
  }

  private lastChunk: Buffer | null = null;
  private lastTransport: Transport = Transport.ws;
  private lastParsed: ReadonlyArray<{ id: number; json: string }> = [];

  stats(): Record<string, number> {
    return {
      ack_subscriptions: this.subscriptions,
      ack_redelivered: this.redelivered,
      ack_window_overflows: this.overflows,
      acks: this.acked,
      ack_position_write_failures: this.positionWriteFailures,
    };
  }

  close(): void {
    this.wheel.stop();
  }
}

/** The text messages in a chunk written to `transport` (WS frames or TCP lines); binary frames are skipped. */
export function messagesOf(chunk: Buffer, transport: Transport): string[] {
  const out: string[] = [];
  if (transport === Transport.ws) {
    let at = 0;
    while (at + 2 <= chunk.length) {
      const opcode = chunk[at] & 0x0f;
      let len = chunk[at + 1] & 0x7f;
      let offset = at + 2;
      if (len === 126) {
        len = chunk.readUInt16BE(at + 2);
        offset = at + 4;
      } else if (len === 127) {
        len = chunk.readUInt32BE(at + 2) * 2 ** 32 + chunk.readUInt32BE(at + 6);
        offset = at + 10;
      }
      if (opcode === 0x1) out.push(chunk.toString('utf8', offset, offset + len));
      at = offset + len;
    }
    return out;
  }
  let start = 0;
  for (;;) {
    const nl = chunk.indexOf(0x0a, start);
    if (nl < 0) break;
    out.push(chunk.toString('utf8', start, nl));
    start = nl + 1;
  }
  return out;
}

const ID_KEY = ',"id":"';

/**
 * The id of an event message, or null (a notice with `"id":null`, anything
 * else). Channel and event names come first in the object, and inside a JSON
 * string every quote is escaped, so the first `,"id":"` is the event's own.
 */
export function eventId(json: string): number | null {
  if (!json.startsWith('{"type":"event"')) return null;
  const at = json.indexOf(ID_KEY);
  if (at < 0) return null;
  const end = json.indexOf('"', at + ID_KEY.length);
  const id = Number(json.slice(at + ID_KEY.length, end));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export function redeliveredJson(json: string): string {
  return `${json.slice(0, -1)},"redelivered":true}`;
}

export function frameFor(json: string, transport: Transport): Buffer {
  return transport === Transport.ws ? encodeTextFrame(json) : Buffer.from(`${json}\n`);
}
