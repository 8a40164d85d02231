import { Publication } from './publication.js';
import { publicationFrame } from './fanout.js';
import type { MemoryHistory } from './history.js';
import type { Subscriber } from './subscriber.js';
import { BROADCAST_CHANNEL } from './channel-name.js';
import { setOf, type Channel, type Channels } from './channels.js';
import type { ClusterBus, DurableRecovery } from '../bus/bus.js';
import type { Logger } from '../logger.js';

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

/** What `eventsSince` found: publications in id order, and channels whose history no longer reaches back. */
export interface ReadResult {
  publications: Publication[];
  failed: string[];
}

/** How long a join waits for this node to reach a client's position that is ahead of it. */
const CATCH_UP_TO_CLIENT_MS = 2000;

export const NO_REPLAY: JoinResult = Object.freeze({ failed: [], missed: null }) as JoinResult;

/**
 * Resumes: what a subscriber missed since a position, from this node's
 * history when it covers the position, else from the bus's durable history
 * (another node's position, or one from before a bus gap). Live events for a
 * subscriber being caught up are held and merged behind the replay, so it
 * sees every id once, in order.
 */
export class Resume {
  /** Replays written by joins (fan-out writes are counted by the fan-out). */
  messagesOut = 0;

  constructor(
    private readonly channels: Channels,
    private readonly history: MemoryHistory,
    private readonly bus: ClusterBus,
    /** Highest bus id delivered on this node. */
    private readonly delivered: () => number,
    private readonly log: Logger | null,
  ) {}

  /** See Hub.join. */
  join(
    sub: Subscriber,
    names: string[],
    since: number | null,
    withBroadcasts: boolean,
  ): JoinResult | Promise<JoinResult> {
    const channels = names.map((name) => this.channels.enter(sub, name));
    if (since === null) {
      for (const ch of channels) setOf(ch, sub).add(sub);
      return NO_REPLAY;
    }
    const everyone = this.channels.everyone;
    const targets = withBroadcasts ? [...channels, everyone] : channels;
    const missed: Publication[] = [];
    const remote: Channel[] = [];
    const failed: string[] = [];
    for (const ch of targets) {
      const local = this.history.since(ch.name, since);
      if (local.ok) {
        for (const p of local.publications) if (!isPending(ch, p)) missed.push(p);
      } else if (local.reason === 'unknown_position') {
        remote.push(ch);
      } else if (ch !== everyone) {
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
    if (withBroadcasts && setOf(everyone, sub).delete(sub)) {
      this.channels.fanOut.membershipChanged(sub);
      everyone.held.add(sub);
    }
    this.channels.holds.set(sub, []);
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
    const { everyone, holds, lostWhileHeld } = this.channels;
    const results = await Promise.all(remote.map((ch) => this.read(ch.name, since)));
    remote.forEach((ch, i) => {
      const r = results[i];
      if (!r.ok) {
        if (ch !== everyone) failed.push(ch.name);
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
    // A position past every id the bus has handed out is not one this node will
    // reach: waiting for it would only delay the join.
    let reach = since;
    if (since > this.delivered()) reach = Math.min(since, await this.bus.currentId().catch(() => since));
    // Until this node has queued everything up to the client's position, and formed it into
    // rounds (which hand a held subscriber its items): bounded, the node may never get there.
    const deadline = Date.now() + CATCH_UP_TO_CLIENT_MS;
    while (targets.some((ch) => this.behind(ch, reach)) && Date.now() < deadline && holds.has(sub)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const held = holds.get(sub);
    holds.delete(sub);
    if (held === undefined) return NO_REPLAY; // disconnected meanwhile
    const lost = lostWhileHeld.get(sub);
    if (lost !== undefined) {
      lostWhileHeld.delete(sub);
      for (const name of lost) if (name !== BROADCAST_CHANNEL && !failed.includes(name)) failed.push(name);
    }
    for (const p of held) if (p instanceof Publication && p.id > since) missed.push(p);
    for (const ch of channels) {
      ch.held.delete(sub);
      if (sub.channels.has(ch.name)) setOf(ch, sub).add(sub);
    }
    if (withBroadcasts && everyone.held.delete(sub)) setOf(everyone, sub).add(sub);
    return this.result(sub, failed, missed);
  }

  /** See Hub.eventsSince. */
  eventsSince(names: string[], since: number, withBroadcasts: boolean): ReadResult | Promise<ReadResult> {
    const targets = withBroadcasts ? [...names, BROADCAST_CHANNEL] : names;
    const found: Publication[] = [];
    const failed: string[] = [];
    const remote: string[] = [];
    for (const name of targets) {
      const local = this.history.since(name, since);
      if (local.ok) for (const p of local.publications) found.push(p);
      else if (local.reason === 'unknown_position') remote.push(name);
      else if (name !== BROADCAST_CHANNEL) failed.push(name);
    }
    if (remote.length === 0) return { publications: inOrder(found), failed };
    return Promise.all(remote.map((name) => this.read(name, since))).then((results) => {
      results.forEach((r, i) => {
        if (!r.ok) {
          if (remote[i] !== BROADCAST_CHANNEL) failed.push(remote[i]);
          return;
        }
        for (const e of r.entries)
          found.push(Publication.fromJson(e.id, e.channel, e.event, e.dataJson, e.text, e.publishedAt));
      });
      return { publications: inOrder(found), failed };
    });
  }

  /** See Hub.positionFor. */
  positionFor(names: string[]): number {
    let position = this.positionOf(this.channels.everyone);
    for (const name of names) {
      const ch = this.channels.get(name);
      if (ch !== undefined) position = Math.min(position, this.positionOf(ch));
    }
    return position;
  }

  /**
   * Durable history of `channel` after `since`. A read that fails is a resume
   * that cannot be proven complete: logged, and the channel reported failed
   * (the client is told `recovery_failed`), never taken for "nothing missed".
   */
  private read(channel: string, since: number): Promise<DurableRecovery> {
    return this.bus.since(channel, since).catch((err: Error) => {
      this.log?.warn(
        { channel, since, err: err.message },
        'resume: durable history did not answer; the client is told recovery_failed',
      );
      return { ok: false, reason: 'unknown_position' } as const;
    });
  }

  /** Every publication on `ch` up to this id was fanned out (or is held for its catching-up subscribers). */
  private positionOf(ch: Channel): number {
    const position = this.delivered();
    for (const p of ch.pending) if (p instanceof Publication) return Math.min(position, p.id - 1);
    return position;
  }

  /**
   * Publications up to `position` are still queued on `ch`, or not received yet:
   * a subscriber at `position` joined now would get them live a second time.
   */
  private behind(ch: Channel, position: number): boolean {
    for (const p of ch.pending) if (p instanceof Publication) return p.id <= position;
    return this.delivered() < position;
  }

  private result(sub: Subscriber, failed: string[], missed: Publication[]): JoinResult {
    if (missed.length === 0) return failed.length === 0 ? NO_REPLAY : { failed, missed: null };
    const unique = inOrder(missed);
    this.messagesOut += unique.length;
    const t = sub.transport;
    return { failed, missed: unique.map((p) => publicationFrame(p, t)) };
  }
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
