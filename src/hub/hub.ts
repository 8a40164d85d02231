import { EventIdSequence } from './ids.js';
import { Publication, BinaryPublication } from './publication.js';
import type { History, Recovery } from './history.js';
import { Transport, type Subscriber } from './subscriber.js';
import { BROADCAST_CHANNEL } from './channel-name.js';
import type { Publisher } from './publisher.js';

type Pending = Publication | BinaryPublication;

/** Subscribers of one channel, split by transport so each chunk is built only if someone needs it. */
interface Channel {
  readonly name: string;
  readonly ws: Set<Subscriber>;
  readonly sse: Set<Subscriber>;
  /** Publications waiting for this turn's flush, oldest first. */
  pending: Pending[];
}

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

/**
 * The realtime core: channels appear with their first subscriber and vanish
 * with the last. Publications are queued per channel and flushed once per
 * event-loop turn: every publication of the turn is framed once, the frames
 * are concatenated once, and that one buffer is written to each subscriber.
 * Writing one buffer per subscriber per turn (not one per event) is what keeps
 * the per-delivery cost near the cost of the write itself.
 */
export class Hub implements Publisher {
  readonly ids: EventIdSequence;
  readonly history: History;
  private readonly channels = new Map<string, Channel>();
  /** Every connection: the audience of broadcasts. */
  private readonly everyone: Channel = { name: BROADCAST_CHANNEL, ws: new Set(), sse: new Set(), pending: [] };
  private readonly dirty: Channel[] = [];
  private flushScheduled = false;
  private messagesOut = 0;
  private publications = 0;

  constructor(history: History, ids: EventIdSequence) {
    this.history = history;
    this.ids = ids;
  }

  // ---- membership -------------------------------------------------------

  addConnection(sub: Subscriber): void {
    setOf(this.everyone, sub).add(sub);
  }

  removeConnection(sub: Subscriber): void {
    setOf(this.everyone, sub).delete(sub);
    for (const name of sub.channels) this.detach(name, sub);
    sub.channels.clear();
  }

  get connectionCount(): number {
    return this.everyone.ws.size + this.everyone.sse.size;
  }

  countByTransport(): { ws: number; sse: number } {
    return { ws: this.everyone.ws.size, sse: this.everyone.sse.size };
  }

  /** All connections of one transport (keepalive, shutdown). */
  connections(transport: Transport): ReadonlySet<Subscriber> {
    return transport === Transport.ws ? this.everyone.ws : this.everyone.sse;
  }

  /**
   * Join `channel`; with `since`, first write what the subscriber missed.
   * Returns the recovery outcome (null when no resume was asked).
   */
  subscribe(sub: Subscriber, channel: string, since: number | null = null): Recovery | null {
    let ch = this.channels.get(channel);
    if (ch === undefined) {
      ch = { name: channel, ws: new Set(), sse: new Set(), pending: [] };
      this.channels.set(channel, ch);
    }
    setOf(ch, sub).add(sub);
    sub.channels.add(channel);
    if (since === null) return null;
    const recovery = this.history.since(channel, since);
    if (recovery.ok) this.replay(sub, ch, recovery.publications);
    return recovery;
  }

  /**
   * Subscribe to several channels (SSE) and collect what was missed across all
   * of them, broadcasts included, in id order. Nothing is written: the caller
   * decides what goes first (a `recovery_failed` notice, then `missed`).
   */
  subscribeMany(sub: Subscriber, channels: string[], since: number | null): { failed: string[]; missed: Buffer | null } {
    const failed: string[] = [];
    const missed: Publication[] = [];
    for (const name of channels) {
      let ch = this.channels.get(name);
      if (ch === undefined) {
        ch = { name, ws: new Set(), sse: new Set(), pending: [] };
        this.channels.set(name, ch);
      }
      setOf(ch, sub).add(sub);
      sub.channels.add(name);
      if (since === null) continue;
      const recovery = this.history.since(name, since);
      if (!recovery.ok) failed.push(name);
      else for (const p of recovery.publications) if (!isPending(ch, p)) missed.push(p);
    }
    if (since !== null) {
      const broadcast = this.history.since(BROADCAST_CHANNEL, since);
      if (broadcast.ok) for (const p of broadcast.publications) if (!isPending(this.everyone, p)) missed.push(p);
    }
    if (missed.length === 0) return { failed, missed: null };
    missed.sort((a, b) => a.id - b.id);
    this.messagesOut += missed.length;
    return { failed, missed: concatFrames(missed, sub.transport) };
  }

  unsubscribe(sub: Subscriber, channel: string): boolean {
    if (!sub.channels.delete(channel)) return false;
    this.detach(channel, sub);
    return true;
  }

  hasChannel(channel: string): boolean {
    return this.channels.has(channel);
  }

  subscriberCount(channel: string): number {
    const ch = this.channels.get(channel);
    return ch === undefined ? 0 : ch.ws.size + ch.sse.size;
  }

  // ---- publishing -------------------------------------------------------

  /** Publish one event: id assigned, kept in history, queued for this turn's flush. */
  publishNow(channel: string, event: string, data: unknown): PublishResult {
    const publication = new Publication(this.ids.next(), channel, event, data);
    this.history.append(publication);
    this.publications++;
    const ch = channel === BROADCAST_CHANNEL ? this.everyone : this.channels.get(channel);
    if (ch === undefined) return { id: publication.idText, delivered: 0 };
    this.enqueue(ch, publication);
    return { id: publication.idText, delivered: ch.ws.size + ch.sse.size };
  }

  async publish(channel: string, event: string, data: unknown): Promise<string> {
    return this.publishNow(channel, event, data).id;
  }

  /** Binary messages go to WebSocket subscribers only, in order with the channel's text events. */
  publishBinary(channel: string, payload: Buffer): number {
    const ch = this.channels.get(channel);
    if (ch === undefined || ch.ws.size === 0) return 0;
    this.enqueue(ch, new BinaryPublication(channel, payload));
    return ch.ws.size;
  }

  stats(): HubStats {
    return { channels: this.channels.size, messagesOut: this.messagesOut, publications: this.publications };
  }

  /** Write everything queued now (shutdown, tests). */
  flush(): void {
    this.flushScheduled = false;
    const dirty = this.dirty.splice(0);
    for (const ch of dirty) {
      const pending = ch.pending;
      ch.pending = [];
      if (ch.ws.size > 0) {
        const chunk = concatFrames(pending, Transport.ws);
        if (chunk.length > 0) for (const sub of ch.ws) sub.write(chunk);
        this.messagesOut += ch.ws.size * pending.length;
      }
      if (ch.sse.size > 0) {
        const chunk = concatFrames(pending, Transport.sse);
        if (chunk.length > 0) for (const sub of ch.sse) sub.write(chunk);
        this.messagesOut += ch.sse.size * countText(pending);
      }
    }
  }

  private enqueue(ch: Channel, item: Pending): void {
    if (ch.pending.length === 0) this.dirty.push(ch);
    ch.pending.push(item);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
  }

  private readonly flushBound = (): void => this.flush();

  private replay(sub: Subscriber, ch: Channel, publications: Publication[]): void {
    // Publications still queued for this turn reach the new subscriber through
    // the flush; replaying them too would deliver them twice.
    const missed = publications.filter((p) => !isPending(ch, p));
    if (missed.length === 0) return;
    sub.write(concatFrames(missed, sub.transport));
    this.messagesOut += missed.length;
  }

  private detach(name: string, sub: Subscriber): void {
    const ch = this.channels.get(name);
    if (ch === undefined) return;
    setOf(ch, sub).delete(sub);
    if (ch.ws.size === 0 && ch.sse.size === 0) {
      this.channels.delete(name);
      // A vanished channel's queued publications have nobody left to reach.
      ch.pending.length = 0;
    }
  }
}

function setOf(ch: Channel, sub: Subscriber): Set<Subscriber> {
  return sub.transport === Transport.ws ? ch.ws : ch.sse;
}

function isPending(ch: Channel, p: Publication): boolean {
  return ch.pending.length > 0 && ch.pending.includes(p);
}

function countText(items: Pending[]): number {
  let n = 0;
  for (const p of items) if (p instanceof Publication) n++;
  return n;
}

/** One buffer holding every item's frame for `transport`, in order. */
function concatFrames(items: ReadonlyArray<Pending>, transport: Transport): Buffer {
  if (items.length === 1) {
    const p = items[0];
    if (transport === Transport.ws) return p.wsFrame();
    return p instanceof Publication ? p.sseChunk() : EMPTY;
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (const p of items) {
    const part = transport === Transport.ws ? p.wsFrame() : p instanceof Publication ? p.sseChunk() : null;
    if (part !== null) {
      parts.push(part);
      total += part.length;
    }
  }
  return Buffer.concat(parts, total);
}

const EMPTY = Buffer.alloc(0);
