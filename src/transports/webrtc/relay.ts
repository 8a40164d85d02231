/** What the relay needs of a connection: its peer id, its user, a way to write to it. */
export interface SignalPeer {
  /** Null: the connection holds no peer id and cannot be reached (see peer-id.ts). */
  readonly peerId: string | null;
  readonly userId: string | null;
  send(message: object): void;
}

/** A signal as the target receives it: who sent it is set by the server, never by the sender. */
export interface RelayedSignal {
  type: 'webrtc_signal';
  signal_type: 'offer' | 'answer' | 'ice_candidate' | 'bye';
  from_peer_id: string;
  /** The sender's token `sub` (with auth off, its `?user_id=`), when it has one. */
  from_user_id?: string;
  target_peer_id: string;
  sdp?: unknown;
  candidate?: unknown;
}

/**
 * Where peer ids live and how a signal reaches the peer holding one. Policy
 * (who may claim which id, who may signal, sizes and rates) is signaling.ts's;
 * a relay only registers and delivers, so a cluster-wide one (ids held in a
 * shared store, signals over the bus) can replace the local one below.
 */
export interface SignalRelay {
  /** Register `peer` under its peer id; false when the id is already held (an id is never taken over). */
  add(peer: SignalPeer): boolean;
  /** Unregister `peer`, if it still holds its id. */
  remove(peer: SignalPeer): void;
  has(peerId: string): boolean;
  /** Hand `signal` to the peer holding `targetPeerId`; false when none does (a remote lookup may answer later). */
  deliver(targetPeerId: string, signal: RelayedSignal): boolean | Promise<boolean>;
}

/** Peers connected to this node. */
export class LocalSignalRelay implements SignalRelay {
  private readonly peers = new Map<string, SignalPeer>();

  get size(): number {
    return this.peers.size;
  }

  add(peer: SignalPeer): boolean {
    if (peer.peerId === null || this.peers.has(peer.peerId)) return false;
    this.peers.set(peer.peerId, peer);
    return true;
  }

  remove(peer: SignalPeer): void {
    if (peer.peerId !== null && this.peers.get(peer.peerId) === peer) this.peers.delete(peer.peerId);
  }

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  deliver(targetPeerId: string, signal: RelayedSignal): boolean {
    const target = this.peers.get(targetPeerId);
    if (target === undefined) return false;
    target.send(signal);
    return true;
  }
}
