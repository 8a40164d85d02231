import { ErrorCode } from '../../codes.js';
import type { WsConnection } from '../ws/connection.js';

export interface SignalFrame {
  signal_type: 'offer' | 'answer' | 'ice_candidate' | 'bye';
  target_peer_id: string;
  sdp?: unknown;
  candidate?: unknown;
}

/**
 * WebRTC signaling relay: forwards offers, answers and ICE candidates between
 * peers on this node. Peers are WS clients, known by their client id on
 * `/realtime/ws` and by their `peer_id` on `/realtime/webrtc/signaling`.
 */
export class SignalRelay {
  private readonly peers = new Map<string, WsConnection>();
  relayed = 0;

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  add(conn: WsConnection): void {
    this.peers.set(conn.peerId, conn);
  }

  remove(conn: WsConnection): void {
    if (this.peers.get(conn.peerId) === conn) this.peers.delete(conn.peerId);
  }

  /** Forward one signal; returns the refusal, or null when it was sent. */
  relay(from: WsConnection, frame: SignalFrame): { code: ErrorCode; message: string } | null {
    const target = this.peers.get(frame.target_peer_id);
    if (target === undefined) {
      return { code: ErrorCode.peerNotFound, message: `no peer ${JSON.stringify(frame.target_peer_id).slice(0, 140)} is connected` };
    }
    if (frame.signal_type === 'offer' || frame.signal_type === 'answer') {
      if (typeof frame.sdp !== 'string' && (typeof frame.sdp !== 'object' || frame.sdp === null)) {
        return { code: ErrorCode.invalidFrame, message: `sdp: required for ${frame.signal_type}` };
      }
    }
    if (frame.signal_type === 'ice_candidate' && frame.candidate === undefined) {
      return { code: ErrorCode.invalidFrame, message: 'candidate: required for ice_candidate' };
    }
    const out: Record<string, unknown> = {
      type: 'webrtc_signal',
      signal_type: frame.signal_type,
      from_peer_id: from.peerId,
      target_peer_id: frame.target_peer_id,
    };
    if (frame.sdp !== undefined) out.sdp = frame.sdp;
    if (frame.candidate !== undefined) out.candidate = frame.candidate;
    target.send(out);
    this.relayed++;
    return null;
  }
}
