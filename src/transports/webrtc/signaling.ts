import { ErrorCode } from '../../codes.js';
import { RateVerdict, takeToken, type RateLimit, type RateState } from '../ws/rate-limit.js';
import type { RelayedSignal, SignalPeer, SignalRelay } from './relay.js';

/** A `webrtc_signal` frame as the WS protocol parsed it. */
export interface SignalFrame {
  signal_type: 'offer' | 'answer' | 'ice_candidate' | 'bye';
  target_peer_id: string;
  sdp?: unknown;
  candidate?: unknown;
}

/** A connection that sends signals: a peer with its own signal-rate bucket. */
export interface SignalSender extends SignalPeer {
  signalRate: RateState | null;
}

export interface SignalingOptions {
  /** Largest `sdp`, and largest `candidate`, in bytes (UTF-8 of a string, else of its JSON). */
  maxSignalBytes: number;
  /** Signals per second and burst per connection; null = unlimited. */
  rate: RateLimit | null;
}

export interface SignalRefusal {
  code: ErrorCode;
  message: string;
}

/**
 * The signaling policy in front of a relay: who may send, how much and how
 * often, and what a signal must carry. A real SDP is a few kilobytes and ICE
 * gathering a few dozen candidates; without these bounds one client could
 * push megabytes into another's socket until the server drops it as slow.
 */
export class Signaling {
  relayed = 0;
  /** Signals refused for rate or size (the others are the sender's mistakes, not abuse). */
  limited = 0;

  constructor(
    readonly relay: SignalRelay,
    private readonly options: SignalingOptions,
  ) {}

  /** Relay one signal from `from`; the refusal, or null when it was delivered. */
  signal(from: SignalSender, frame: SignalFrame): SignalRefusal | null | Promise<SignalRefusal | null> {
    if (from.peerId === null) {
      return { code: ErrorCode.forbidden, message: 'signaling needs a token: this connection holds no peer id' };
    }
    const rate = this.options.rate;
    if (rate !== null) {
      from.signalRate ??= { tokens: rate.burst, tokensAt: Date.now(), refused: 0 };
      if (takeToken(from.signalRate, rate, Date.now()) !== RateVerdict.ok) {
        this.limited++;
        return {
          code: ErrorCode.rateLimited,
          message: `over ${rate.perSecond} signals/s (burst ${rate.burst}): signal dropped`,
        };
      }
    }
    const max = this.options.maxSignalBytes;
    for (const field of ['sdp', 'candidate'] as const) {
      const bytes = sizeOf(frame[field]);
      if (bytes > max) {
        this.limited++;
        return {
          code: ErrorCode.payloadTooLarge,
          message: `${field}: ${bytes} bytes, over the ${max}-byte limit on signals`,
        };
      }
    }
    if (frame.signal_type === 'offer' || frame.signal_type === 'answer') {
      if (typeof frame.sdp !== 'string' && (typeof frame.sdp !== 'object' || frame.sdp === null)) {
        return { code: ErrorCode.invalidFrame, message: `sdp: required for ${frame.signal_type}` };
      }
    }
    if (frame.signal_type === 'ice_candidate' && frame.candidate === undefined) {
      return { code: ErrorCode.invalidFrame, message: 'candidate: required for ice_candidate' };
    }
    const out: RelayedSignal = {
      type: 'webrtc_signal',
      signal_type: frame.signal_type,
      from_peer_id: from.peerId,
      target_peer_id: frame.target_peer_id,
    };
    if (from.userId !== null) out.from_user_id = from.userId;
    if (frame.sdp !== undefined) out.sdp = frame.sdp;
    if (frame.candidate !== undefined) out.candidate = frame.candidate;
    const delivered = this.relay.deliver(frame.target_peer_id, out);
    if (delivered instanceof Promise) {
      return delivered.then(
        (ok) => this.delivered(ok, out),
        (err: Error) => ({ code: ErrorCode.internal, message: `signal not relayed: ${err.message}` }),
      );
    }
    return this.delivered(delivered, out);
  }

  /**
   * `peer` is gone: unregister it, and tell every peer it was exchanging
   * signals with (and had not said `bye` to) with a `bye` from it, on
   * whichever node they are. Best effort: a peer that left meanwhile is skipped.
   */
  leave(peer: SignalPeer): void {
    const contacts = this.relay.remove(peer);
    if (peer.peerId === null) return;
    for (const target of contacts) {
      const bye: RelayedSignal = {
        type: 'webrtc_signal',
        signal_type: 'bye',
        from_peer_id: peer.peerId,
        target_peer_id: target,
      };
      if (peer.userId !== null) bye.from_user_id = peer.userId;
      // A failure is the relay's to log (a cluster relay tracks and reports its sends); nobody awaits a bye.
      const sent = this.relay.deliver(target, bye);
      if (sent instanceof Promise) sent.catch(() => undefined);
    }
  }

  private delivered(ok: boolean, signal: RelayedSignal): SignalRefusal | null {
    const target = signal.target_peer_id;
    if (!ok)
      return { code: ErrorCode.peerNotFound, message: `no peer ${JSON.stringify(target).slice(0, 140)} is connected` };
    this.relayed++;
    this.relay.contact(signal.from_peer_id, target, signal.signal_type);
    return null;
  }
}

function sizeOf(value: unknown): number {
  if (value === undefined) return 0;
  // Depth is bounded before a frame gets here (json-depth.ts): stringify cannot overflow.
  return Buffer.byteLength(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
}
