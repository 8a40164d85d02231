/**
 * Frames the server sends over WebSocket (docs/protocol.md, "WebSocket"), as the SDK and the
 * server both see them. Types only: nothing here exists at runtime.
 */

export interface ConnectedFrame {
  type: 'connected';
  client_id: string;
  user_id: string | null;
  peer_id?: string;
}

/** A channel event. `id` is a decimal string; `null` only on system notices. */
export interface EventFrame<T = unknown> {
  type: 'event';
  channel: string;
  event: string;
  id: string | null;
  data: T;
}

export interface ReplyFrame<T = unknown> {
  type: 'reply';
  ref: string | number;
  ok: true;
  data?: T;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  ref?: string | number;
}

export interface TextFrame {
  type: 'text';
  data: string;
}

export interface JsonFrame<T = unknown> {
  type: 'json';
  data: T;
}

export type SignalType = 'offer' | 'answer' | 'ice_candidate' | 'bye';

/** A WebRTC signaling message, sent and received as is. */
export interface WebRTCSignal {
  signal_type: SignalType;
  target_peer_id: string;
  sdp?: unknown;
  candidate?: unknown;
}

export interface WebRTCSignalFrame extends WebRTCSignal {
  type: 'webrtc_signal';
  /** Set by the server on relayed signals: who sent it. */
  from_peer_id?: string;
  [key: string]: unknown;
}

export interface PongFrame {
  type: 'pong';
}

export type ServerFrame =
  | ConnectedFrame
  | EventFrame
  | ReplyFrame
  | ErrorFrame
  | TextFrame
  | JsonFrame
  | WebRTCSignalFrame
  | PongFrame
  | { type: string; [key: string]: unknown };
