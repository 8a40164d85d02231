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
 * a relay only registers and delivers: LocalSignalRelay below for one node,
 * ClusterSignalRelay (cluster-relay.ts) for ids held and signals carried
 * cluster-wide. Chosen once at boot.
 */
export interface SignalRelay {
  /**
   * Reserve `peerId` for a connection about to open: false when a connection
   * (on any node the relay spans) holds or reserves it. An id is never taken over.
   */
  claim(peerId: string): boolean | Promise<boolean>;
  /** Give back a claim whose connection never opened. */
  release(peerId: string): void;
  /** Register `peer` under its peer id (claimed before, or a fresh random one); false when the id is already held here. */
  add(peer: SignalPeer): boolean;
  /** Unregister `peer`, if it still holds its id; returns the peers it was exchanging signals with (they are owed a `bye`). */
  remove(peer: SignalPeer): string[];
  /** Hand `signal` to the peer holding `targetPeerId`; false when none does (a remote lookup answers later). */
  deliver(targetPeerId: string, signal: RelayedSignal): boolean | Promise<boolean>;
  /** `peerId` (a peer registered here) signalled `other`: remember the pair, or forget it after a `bye`. */
  contact(peerId: string, other: string, signalType: RelayedSignal['signal_type']): void;
}

/**
 * Most peers one connection is remembered to be talking to: a `bye` goes to
 * each when it leaves. Beyond this the oldest contact is forgotten (a real
 * client talks to a handful; the bound keeps one that sprays signals cheap).
 */
export const MAX_CONTACTS = 64;

interface Entry {
  peer: SignalPeer;
  /** Peer ids this one sent signals to or got signals from, oldest first; null until the first. */
  contacts: Set<string> | null;
}

/** Peers connected to this node. */
export class LocalSignalRelay implements SignalRelay {
  private readonly peers = new Map<string, Entry>();
  /** Ids claimed by connections still completing their handshake. */
  private readonly claims = new Set<string>();

  get size(): number {
    return this.peers.size;
  }

  claim(peerId: string): boolean {
    if (this.peers.has(peerId) || this.claims.has(peerId)) return false;
    this.claims.add(peerId);
    return true;
  }

  release(peerId: string): void {
    this.claims.delete(peerId);
  }

  /** Whether `peerId` is claimed or held here. */
  holds(peerId: string): boolean {
    return this.peers.has(peerId) || this.claims.has(peerId);
  }

  add(peer: SignalPeer): boolean {
    if (peer.peerId === null || this.peers.has(peer.peerId)) return false;
    this.claims.delete(peer.peerId);
    this.peers.set(peer.peerId, { peer, contacts: null });
    return true;
  }

  remove(peer: SignalPeer): string[] {
    if (peer.peerId === null) return [];
    const entry = this.peers.get(peer.peerId);
    if (entry === undefined || entry.peer !== peer) return [];
    this.peers.delete(peer.peerId);
    return entry.contacts === null ? [] : [...entry.contacts];
  }

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  /** Every id held or claimed here. */
  ids(): string[] {
    return [...this.peers.keys(), ...this.claims];
  }

  deliver(targetPeerId: string, signal: RelayedSignal): boolean {
    const target = this.peers.get(targetPeerId);
    if (target === undefined) return false;
    note(target, signal.from_peer_id, signal.signal_type);
    target.peer.send(signal);
    return true;
  }

  contact(peerId: string, other: string, signalType: RelayedSignal['signal_type']): void {
    const entry = this.peers.get(peerId);
    if (entry !== undefined) note(entry, other, signalType);
  }
}

/** Remember (most recent last) or, after a `bye`, forget that `entry` talks to `other`. */
function note(entry: Entry, other: string, signalType: RelayedSignal['signal_type']): void {
  if (signalType === 'bye') {
    entry.contacts?.delete(other);
    return;
  }
  const contacts = (entry.contacts ??= new Set());
  contacts.delete(other);
  contacts.add(other);
  if (contacts.size > MAX_CONTACTS) contacts.delete(contacts.values().next().value as string);
}
