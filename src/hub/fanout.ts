import { performance } from 'node:perf_hooks';
import { Publication, type BinaryPublication } from './publication.js';
import { Transport, type Subscriber } from './subscriber.js';

export type Pending = Publication | BinaryPublication;

/** What the fan-out needs of a channel (the hub owns the rest). */
export interface FanOutChannel {
  readonly name: string;
  readonly ws: Set<Subscriber>;
  readonly sse: Set<Subscriber>;
  readonly tcp: Set<Subscriber>;
  /** SSE streams with `format=message`. */
  readonly sseMessage: Set<Subscriber>;
  /** Subscribers still being caught up from durable history: they get items through `onHeld`. */
  readonly held: Set<Subscriber>;
  /** Publications not yet handed to a round, oldest first. */
  pending: Pending[];
}

/**
 * Time one slice of writing may take before the loop gets to read sockets
 * again. Short enough that joins, pings and small channels are not stuck
 * behind a large channel; long enough that the yield (one poll) is noise.
 */
const SLICE_MS = 0.5;
/** Writes between clock reads inside a slice. */
const CLOCK_EVERY = 64;
/**
 * Past this many queued writes a slice does not yield: reading more input
 * while the backlog grows would let publishers outrun the fan-out without
 * bound. Not yielding stops reading, and TCP pushes back on the publishers.
 */
const MAX_QUEUED_WRITES = 200_000;

/**
 * One batch of items for one channel's subscribers as they were when the
 * round was formed. Items published while the round is being written are
 * appended for the subscribers it has not reached yet (see FanOut.form), so
 * under load a subscriber gets everything since its last write in one write.
 */
class Round {
  readonly ws: Subscriber[];
  readonly sse: Subscriber[];
  readonly tcp: Subscriber[];
  readonly sm: Subscriber[];
  wsAt = 0;
  sseAt = 0;
  tcpAt = 0;
  smAt = 0;
  /** Frames of the items so far, built on first need and extended on merge. */
  private wsChunk: Buffer | null = null;
  private sseChunk: Buffer | null = null;
  private tcpChunk: Buffer | null = null;
  private smChunk: Buffer | null = null;
  private readonly items: Pending[];
  /** Text publications among the items (SSE and TCP carry only those): for the messages-out count. */
  sseCount: number;
  constructor(
    /** The slice that formed it: written in a later one, membership may have changed, so it is checked. */
    readonly formedIn: number,
    readonly channel: FanOutChannel,
    items: Pending[],
    ws: Subscriber[],
    sse: Subscriber[],
    tcp: Subscriber[],
    sm: Subscriber[],
  ) {
    this.items = items;
    this.ws = ws;
    this.sse = sse;
    this.tcp = tcp;
    this.sm = sm;
    this.sseCount = countText(items);
  }

  /** Items per WS write (every item). */
  get wsCount(): number {
    return this.items.length;
  }

  get remaining(): number {
    return (
      this.ws.length -
      this.wsAt +
      this.sse.length -
      this.sseAt +
      this.tcp.length -
      this.tcpAt +
      this.sm.length -
      this.smAt
    );
  }

  /** Append `more` for the subscribers not written yet. */
  extend(more: Pending[]): void {
    if (this.wsChunk !== null && this.wsAt < this.ws.length)
      this.wsChunk = Buffer.concat([this.wsChunk, concatFrames(more, Transport.ws)]);
    else this.wsChunk = null;
    if (this.sseChunk !== null && this.sseAt < this.sse.length)
      this.sseChunk = Buffer.concat([this.sseChunk, concatFrames(more, Transport.sse)]);
    else this.sseChunk = null;
    if (this.tcpChunk !== null && this.tcpAt < this.tcp.length)
      this.tcpChunk = Buffer.concat([this.tcpChunk, concatFrames(more, Transport.tcp)]);
    else this.tcpChunk = null;
    if (this.smChunk !== null && this.smAt < this.sm.length)
      this.smChunk = Buffer.concat([this.smChunk, concatFrames(more, Transport.sseMessage)]);
    else this.smChunk = null;
    for (const p of more) this.items.push(p);
    this.sseCount += countText(more);
  }

  wsFrames(): Buffer {
    if (this.wsChunk === null) this.wsChunk = concatFrames(this.items, Transport.ws);
    return this.wsChunk;
  }

  sseFrames(): Buffer {
    if (this.sseChunk === null) this.sseChunk = concatFrames(this.items, Transport.sse);
    return this.sseChunk;
  }

  tcpFrames(): Buffer {
    if (this.tcpChunk === null) this.tcpChunk = concatFrames(this.items, Transport.tcp);
    return this.tcpChunk;
  }

  smFrames(): Buffer {
    if (this.smChunk === null) this.smChunk = concatFrames(this.items, Transport.sseMessage);
    return this.smChunk;
  }

  /** Tag every subscriber this round has not written yet with `mark`. */
  markRemaining(mark: number): void {
    for (let i = this.wsAt; i < this.ws.length; i++) this.ws[i].fanoutMark = mark;
    for (let i = this.sseAt; i < this.sse.length; i++) this.sse[i].fanoutMark = mark;
    for (let i = this.tcpAt; i < this.tcp.length; i++) this.tcp[i].fanoutMark = mark;
    for (let i = this.smAt; i < this.sm.length; i++) this.sm[i].fanoutMark = mark;
  }
}

/**
 * Writes publications to subscribers: every publication of an event-loop
 * turn framed once, concatenated once per channel and transport, and that one
 * buffer written to each subscriber — one write per subscriber per turn, not
 * per event, is what keeps a delivery near the cost of the write itself.
 *
 * Large channels are written in time slices (SLICE_MS), yielding to the event
 * loop between slices. Publications that arrive meanwhile are merged into the
 * round in progress for the subscribers it has not reached, so a publisher
 * that waits for each acknowledgement still gets its events batched, and
 * during a 10,000-subscriber broadcast the loop still reads: pings, joins and
 * publishes are taken between slices (their own fan-out queues behind it).
 *
 * Order: rounds are written oldest first, and an item is merged into a round
 * only when every round queued after it belongs to the same channel, so a
 * subscriber never receives a publication before an older one that was queued
 * for it on another channel (within one round, items are channel-grouped as
 * they always were within a turn). A subscriber that leaves and rejoins a
 * channel with `since` while a round for it is still being written can get
 * that round's items twice (round and replay); clients drop repeats by id.
 */
export class FanOut {
  private readonly dirty: FanOutChannel[] = [];
  private readonly rounds: Round[] = [];
  private scheduled = false;
  private queuedWrites = 0;
  private mark = 0;
  /** Counts slices (and flushes), so a round knows whether membership may have changed since it was formed. */
  private slice = 0;
  messagesOut = 0;

  constructor(
    /** Called with items of a channel that has held subscribers, when they are formed into a round. */
    private readonly onHeld: (channel: FanOutChannel, items: Pending[]) => void,
  ) {}

  /**
   * Call before a subscriber leaves a channel's `ws`/`sse` set (leave, disconnect, hold): rounds
   * formed before now check its membership before writing to it. Everyone else is written
   * without a lookup — membership changes are rare, writes are not.
   */
  membershipChanged(sub: Subscriber): void {
    sub.fanoutChangedAt = this.slice;
  }

  /** Queue `item` on `ch` for the next slice. */
  enqueue(ch: FanOutChannel, item: Pending): void {
    if (ch.pending.length === 0) this.dirty.push(ch);
    ch.pending.push(item);
    this.schedule();
  }

  /** Write everything queued now, without yielding (shutdown, tests). */
  flush(): void {
    this.slice++;
    this.form();
    this.write(Infinity);
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.sliceBound);
    }
  }

  private readonly sliceBound = (): void => {
    this.scheduled = false;
    this.slice++;
    this.form();
    this.write(performance.now() + SLICE_MS);
    if (this.rounds.length > 0) this.schedule();
  };

  /** Turn each dirty channel's pending items into rounds (or merge them into the tail). */
  private form(): void {
    if (this.dirty.length === 0) return;
    const dirty = this.dirty.splice(0);
    for (const ch of dirty) {
      const items = ch.pending;
      if (items.length === 0) continue; // the channel vanished
      ch.pending = [];
      if (ch.held.size > 0) this.onHeld(ch, items);
      // The tail block: rounds at the end of the queue that are all for this channel.
      let first = this.rounds.length;
      while (first > 0 && this.rounds[first - 1].channel === ch) first--;
      if (first === this.rounds.length) {
        this.push(
          new Round(
            this.slice,
            ch,
            items,
            Array.from(ch.ws),
            Array.from(ch.sse),
            ch.tcp.size === 0 ? NONE : Array.from(ch.tcp),
            ch.sseMessage.size === 0 ? NONE : Array.from(ch.sseMessage),
          ),
        );
        continue;
      }
      // Those the tail rounds have yet to reach get the items from them; everyone else from a new round.
      const mark = ++this.mark;
      for (let i = first; i < this.rounds.length; i++) {
        const round = this.rounds[i];
        round.extend(items);
        round.markRemaining(mark);
      }
      const ws = unmarked(ch.ws, mark);
      const sse = unmarked(ch.sse, mark);
      const tcp = ch.tcp.size === 0 ? NONE : unmarked(ch.tcp, mark);
      const sm = ch.sseMessage.size === 0 ? NONE : unmarked(ch.sseMessage, mark);
      if (ws.length + sse.length + tcp.length + sm.length > 0)
        this.push(new Round(this.slice, ch, items.slice(), ws, sse, tcp, sm));
    }
  }

  private push(round: Round): void {
    this.rounds.push(round);
    this.queuedWrites += round.remaining;
  }

  /** Write rounds oldest first until done or `deadline` (performance.now()) passes. */
  private write(deadline: number): void {
    let done = 0;
    while (done < this.rounds.length) {
      const round = this.rounds[done];
      if (!this.writeRound(round, deadline)) break;
      done++;
    }
    if (done > 0) this.rounds.splice(0, done);
  }

  /** Returns true when the round is complete. */
  private writeRound(round: Round, deadline: number): boolean {
    // Joins, leaves and holds happen between slices only: a round formed in this slice needs no check.
    const continued = round.formedIn !== this.slice;
    const since = round.formedIn;
    if (round.wsAt < round.ws.length) {
      const chunk = round.wsFrames();
      const at = round.wsAt;
      const end = this.writeRange(round.ws, at, chunk, continued ? round.channel.ws : null, since, deadline);
      round.wsAt = end;
      this.messagesOut += (end - at) * round.wsCount;
      this.queuedWrites -= end - at;
      if (end < round.ws.length) return false;
    }
    if (round.sseAt < round.sse.length) {
      const at = round.sseAt;
      const chunk = round.sseCount > 0 ? round.sseFrames() : null;
      const end =
        chunk === null
          ? round.sse.length
          : this.writeRange(round.sse, at, chunk, continued ? round.channel.sse : null, since, deadline);
      round.sseAt = end;
      this.messagesOut += (end - at) * round.sseCount;
      this.queuedWrites -= end - at;
      if (end < round.sse.length) return false;
    }
    if (round.tcpAt < round.tcp.length) {
      const at = round.tcpAt;
      const chunk = round.sseCount > 0 ? round.tcpFrames() : null;
      const end =
        chunk === null
          ? round.tcp.length
          : this.writeRange(round.tcp, at, chunk, continued ? round.channel.tcp : null, since, deadline);
      round.tcpAt = end;
      this.messagesOut += (end - at) * round.sseCount;
      this.queuedWrites -= end - at;
      if (end < round.tcp.length) return false;
    }
    if (round.smAt < round.sm.length) {
      const at = round.smAt;
      const chunk = round.sseCount > 0 ? round.smFrames() : null;
      const end =
        chunk === null
          ? round.sm.length
          : this.writeRange(round.sm, at, chunk, continued ? round.channel.sseMessage : null, since, deadline);
      round.smAt = end;
      this.messagesOut += (end - at) * round.sseCount;
      this.queuedWrites -= end - at;
      if (end < round.sm.length) return false;
    }
    return true;
  }

  /** Write `chunk` to subs[from…]; returns where it stopped (subs.length when done). */
  private writeRange(
    subs: Subscriber[],
    from: number,
    chunk: Buffer,
    members: Set<Subscriber> | null,
    formedIn: number,
    deadline: number,
  ): number {
    let i = from;
    while (i < subs.length) {
      const stop = Math.min(subs.length, i + CLOCK_EVERY);
      for (; i < stop; i++) {
        const sub = subs[i];
        // One that left the channel (or is now held for a catch-up) since the round was formed is
        // skipped; only those whose membership changed at all since then are looked up.
        if (members === null || sub.fanoutChangedAt < formedIn || members.has(sub)) sub.write(chunk);
      }
      if (i < subs.length && performance.now() > deadline && this.queuedWrites - (i - from) < MAX_QUEUED_WRITES) break;
    }
    return i;
  }
}

/** The subscribers of a transport nobody on the channel uses: shared, never written to. */
const NONE: Subscriber[] = [];

function unmarked(set: Set<Subscriber>, mark: number): Subscriber[] {
  const out: Subscriber[] = [];
  for (const sub of set) if (sub.fanoutMark !== mark) out.push(sub);
  return out;
}

function countText(items: Pending[]): number {
  let n = 0;
  for (const p of items) if (p instanceof Publication) n++;
  return n;
}

/** One buffer holding every item's frame for `transport`, in order. */
export function concatFrames(items: ReadonlyArray<Pending>, transport: Transport): Buffer {
  if (items.length === 1) {
    const p = items[0];
    if (transport === Transport.ws) return p.wsFrame();
    if (!(p instanceof Publication)) return EMPTY;
    return publicationFrame(p, transport);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (const p of items) {
    const part =
      transport === Transport.ws ? p.wsFrame() : !(p instanceof Publication) ? null : publicationFrame(p, transport);
    if (part !== null) {
      parts.push(part);
      total += part.length;
    }
  }
  return Buffer.concat(parts, total);
}

const EMPTY = Buffer.alloc(0);

/** A text publication's frame for `transport`. */
export function publicationFrame(p: Publication, transport: Transport): Buffer {
  switch (transport) {
    case Transport.ws:
      return p.wsFrame();
    case Transport.sse:
      return p.sseChunk();
    case Transport.tcp:
      return p.tcpLine();
    case Transport.sseMessage:
      return p.sseMessageChunk();
  }
}
