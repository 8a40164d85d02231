import type { Logger } from '../../logger.js';
import { LocalSignalRelay, type RelayedSignal, type SignalPeer, type SignalRelay } from './relay.js';

/** What the relay needs of the cluster bus: messages addressed to one node. */
export interface NodeBus {
  readonly nodeId: string;
  sendToNode(to: string, body: string): Promise<void>;
  onNodeMessage(handler: (from: string, body: string) => void): void;
}

/** Which node holds which peer id (bus/peer-registry-redis.ts). */
export interface PeerRegistry {
  readonly ttlMs: number;
  claim(peerId: string): Promise<boolean>;
  release(peerId: string): Promise<void>;
  holder(peerId: string): Promise<string | null>;
  /** Keep these ids this node's; returns those another node holds now. */
  refresh(peerIds: readonly string[]): Promise<string[]>;
  isReady(): boolean;
  close(): Promise<void>;
}

/** A signal on its way to the node holding its target. */
interface Carried {
  to: string;
  signal: RelayedSignal;
}

/** A node that dies (no refresh, no release) frees its peer ids after this long. */
export const PEER_TTL_MS = 30_000;

/** Longest `close` waits for releases and `bye`s still on their way. */
const CLOSE_WAIT_MS = 2000;

/**
 * Peer ids and signals cluster-wide. Ids live in a shared registry (one holder
 * node each, kept alive by refreshes, so a node that dies frees its ids after
 * the registry's TTL); a signal to a peer on another node is sent over the bus
 * to that node, whose local relay hands it over. Peers on this node are served
 * by the local relay without a round trip.
 */
export class ClusterSignalRelay implements SignalRelay {
  readonly local = new LocalSignalRelay();
  /** Registry writes and sends not awaited by anyone: `close` lets them finish. */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly refresher: NodeJS.Timeout;

  constructor(
    private readonly bus: NodeBus,
    private readonly registry: PeerRegistry,
    private readonly log: Logger,
  ) {
    bus.onNodeMessage((from, body) => this.received(from, body));
    this.refresher = setInterval(() => this.refresh(), Math.max(100, Math.floor(registry.ttlMs / 3)));
    this.refresher.unref();
  }

  claim(peerId: string): boolean | Promise<boolean> {
    if (!this.local.claim(peerId)) return false;
    return this.registry.claim(peerId).then(
      (ok) => {
        if (!ok) this.local.release(peerId);
        return ok;
      },
      (err: unknown) => {
        this.local.release(peerId);
        throw err;
      },
    );
  }

  release(peerId: string): void {
    this.local.release(peerId);
    this.background(this.registry.release(peerId), 'peer id not released');
  }

  add(peer: SignalPeer): boolean {
    const id = peer.peerId;
    if (id === null) return false;
    const claimed = this.local.holds(id);
    if (!this.local.add(peer)) return false;
    // A `/realtime/ws` connection's random id was not claimed before: register it now.
    if (!claimed) {
      this.background(
        this.registry.claim(id).then((ok) => {
          if (!ok)
            this.log.warn(
              { peerId: id },
              'random peer id already held by another node: not reachable from other nodes',
            );
        }),
        'peer id not registered',
      );
    }
    return true;
  }

  remove(peer: SignalPeer): string[] {
    const id = peer.peerId;
    if (id === null || !this.local.has(id)) return [];
    const contacts = this.local.remove(peer);
    if (!this.local.has(id)) this.background(this.registry.release(id), 'peer id not released');
    return contacts;
  }

  deliver(targetPeerId: string, signal: RelayedSignal): boolean | Promise<boolean> {
    if (this.local.deliver(targetPeerId, signal)) return true;
    const sent = this.registry.holder(targetPeerId).then(async (node) => {
      // Held by this node but not connected yet (a claim mid-handshake): not reachable.
      if (node === null || node === this.bus.nodeId) return false;
      const carried: Carried = { to: targetPeerId, signal };
      await this.bus.sendToNode(node, JSON.stringify(carried));
      return true;
    });
    // Tracked so that close() lets the `bye`s of a draining node's connections go out.
    const settled = sent.catch((err: Error) => {
      this.log.warn({ err: err.message, peerId: targetPeerId }, 'signal not relayed to the node holding its peer');
      return false;
    });
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
    return sent;
  }

  contact(peerId: string, other: string, signalType: RelayedSignal['signal_type']): void {
    this.local.contact(peerId, other, signalType);
  }

  isReady(): boolean {
    return this.registry.isReady();
  }

  /** After this node's connections closed (their ids released, their `bye`s sent): stop refreshing, let what is on its way finish. */
  async close(): Promise<void> {
    clearInterval(this.refresher);
    if (this.pending.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.pending]),
        new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref()),
      ]);
    }
    await this.registry.close();
  }

  /** A signal another node sent for a peer it found registered here; gone meanwhile → dropped, as on one node. */
  private received(from: string, body: string): void {
    let carried: Carried;
    try {
      carried = JSON.parse(body) as Carried;
    } catch {
      this.log.error({ from }, 'malformed signal from another node dropped');
      return;
    }
    if (typeof carried?.to !== 'string' || carried.signal?.type !== 'webrtc_signal') {
      this.log.error({ from }, 'malformed signal from another node dropped');
      return;
    }
    this.local.deliver(carried.to, carried.signal);
  }

  private refresh(): void {
    const ids = this.local.ids();
    if (ids.length === 0) return;
    this.background(
      this.registry.refresh(ids).then((lost) => {
        if (lost.length > 0)
          this.log.warn(
            { peerIds: lost.slice(0, 20), count: lost.length },
            'peer ids held here were taken by another node (the registry lost them)',
          );
      }),
      'peer ids not refreshed',
    );
  }

  private background(work: Promise<unknown>, what: string): void {
    const p = work.catch((err: Error) => this.log.warn({ err: err.message }, what));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
