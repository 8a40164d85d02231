/**
 * Wire and option types of the hubcast client SDK. Nothing here touches Node
 * or the DOM at runtime: the module is types only.
 */
import type { BinaryMessage } from './binary-message.js';
import type {
  ConnectedFrame,
  EventFrame,
  ReplyFrame,
  ErrorFrame,
  TextFrame,
  JsonFrame,
  WebRTCSignalFrame,
  PongFrame,
  ServerFrame,
} from './wire/frames.js';

/**
 * Connection states of {@link WSClient} and the SSE client.
 *
 * ```
 * disconnected ──connect()──▶ connecting ──welcome──▶ connected
 *      ▲                          │                      │
 *      │                   close / failure         close (1012, 1013, 1006 …)
 *      │                          ▼                      ▼
 *      └──disconnect() / give up── reconnecting ◀────────┘
 *                                   │  ▲
 *                                   └──┘ backoff, retry
 * ```
 *
 * `unauthorized` (the server answered 401: no token, a bad or an expired one) and
 * `forbidden` (403) are refusals, not outages: the client calls `getToken` (when
 * given) and reconnects at once only if it returns a token other than the refused
 * one, or when `setToken()` hands it one; otherwise it waits `maxReconnectDelay`
 * before asking again, so a page without a valid token does not hammer the server.
 * The WS client sees the status with the `ws` package (Node); a browser's
 * `WebSocket` does not expose it, so after a handshake that failed without one
 * the client asks with one plain GET of the same URL (docs/protocol.md, Connecting).
 */
export type ConnectionState =
  | 'disconnected'
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  | 'unauthorized'
  | 'forbidden';

/** Payload of `onStateChange` listeners. */
export interface StateChange {
  from: ConnectionState;
  to: ConnectionState;
  /** Why the transition happened: a close code and reason, an error, or the method called. */
  reason?: string;
  /** WebSocket close code that caused the transition, when there was one. */
  closeCode?: number;
}

// ---- frames the server sends over WebSocket: declared once, in wire/ --------

export type {
  ConnectedFrame,
  EventFrame,
  ReplyFrame,
  ErrorFrame,
  TextFrame,
  JsonFrame,
  SignalType,
  WebRTCSignal,
  WebRTCSignalFrame,
  PongFrame,
  ServerFrame,
} from './wire/frames.js';

/**
 * Not a wire frame: emitted by the SDK when the server could not replay what
 * the client missed on `channel` (history too short, or the server restarted
 * without persisted history). The app should refetch that channel's state.
 */
export interface RecoveryFailedMessage {
  type: 'recovery_failed';
  channel: string;
  reason?: string;
}

/** What `onMessage(type, fn)` hands to `fn`, by type. */
export interface MessageMap {
  connected: ConnectedFrame;
  /** `any` data, so a listener may declare its own: `(e: EventFrame<Product>) => …`. */
  event: EventFrame<any>;
  reply: ReplyFrame;
  error: ErrorFrame;
  text: TextFrame;
  json: JsonFrame<any>;
  webrtc_signal: WebRTCSignalFrame;
  pong: PongFrame;
  binary: BinaryMessage;
  recovery_failed: RecoveryFailedMessage;
  /**
   * Every frame and binary message handed to the app, including ones no
   * typed listener takes (`pong`, future types). Not included: replies and
   * errors that settle a command (its promise gets them) and duplicate
   * events dropped by the resume guard.
   */
  '*': ServerFrame | BinaryMessage;
}

// ---- injectable transports -------------------------------------------------

/**
 * The part of the WHATWG `WebSocket` the SDK uses. The browser's `WebSocket`,
 * Node ≥ 22's global one and the `ws` package all fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  // `any` parameters: each implementation has its own event classes.
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The part of the WHATWG `EventSource` the SDK uses (browsers, the `eventsource` package). */
export interface EventSourceLike {
  readonly readyState: number;
  close(): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  onopen: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

// ---- options ---------------------------------------------------------------

/** Reconnect policy shared by both clients. Delays in milliseconds. */
export interface ReconnectOptions {
  /** First backoff cap; doubles per failed attempt. Default 250. */
  minReconnectDelay?: number;
  /** Largest backoff cap. Default 10000 (well inside the server's default history reach). */
  maxReconnectDelay?: number;
  /** Attempts after a drop before giving up (state → `disconnected`). Default `Infinity`. */
  maxReconnectAttempts?: number;
}

export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

export interface WSClientOptions extends ReconnectOptions {
  /** `WebSocket` implementation. Default: `globalThis.WebSocket`, else the `ws` package (Node). */
  WebSocket?: WebSocketConstructor;
  /** JWT for servers with auth on. */
  token?: string;
  /** Called before every connection attempt for a fresh token (refresh on reconnect). Wins over `token`. */
  getToken?: TokenSource;
  /**
   * How the token travels: `'protocol'` (default) as the subprotocol
   * `bearer.<token>`, which keeps it out of URLs and logs; `'query'` as `?token=`.
   */
  tokenTransport?: 'protocol' | 'query';
  /**
   * Acknowledge events on the user's own channel `user:<id>` (the user inbox:
   * what was sent while the user was offline) once the `event` handlers
   * returned or resolved, and drop their redeliveries. Default true.
   */
  ackInbox?: boolean;
  /** Time for one attempt to open and receive the `connected` frame. Default 10000. */
  connectTimeout?: number;
  /** Time a command waits for its reply. Default 10000. */
  commandTimeout?: number;
  /**
   * Sends made while `connecting`/`reconnecting` wait in a queue of at most
   * this many messages and go out, in order, once the channels are re-joined.
   * Past the bound a send throws a `ClientError` with code `queue_full`; `0`
   * rejects every send made while not connected. Default 100.
   */
  maxQueuedMessages?: number;
}

export interface SSEClientOptions extends ReconnectOptions {
  /** Channels to subscribe to (`?channels=`). Default: the server's default (`products`). */
  channels?: string[];
  /** `EventSource` implementation. Default: `globalThis.EventSource`, else the `eventsource` package (Node). */
  EventSource?: EventSourceConstructor;
  /** JWT, sent as `?token=` (EventSource cannot set headers). */
  token?: string;
  /** Called before every (re)creation of the stream for a fresh token. Wins over `token`. */
  getToken?: TokenSource;
  /** Resume from this event id on the first connect. */
  lastEventId?: string;
  /** Passed to `EventSource` (cookies on cross-origin requests). */
  withCredentials?: boolean;
  /** Ids remembered for de-duplication. Default 1024. */
  dedupWindow?: number;
}

/** What `onEvent(name, fn)` hands to `fn`. */
export interface SSEEvent<T = unknown> {
  /** The SSE `event:` name (`message` when the server sent none). */
  event: string;
  /** The SSE `id:`; `null` on system events. */
  id: string | null;
  /** `data` parsed as JSON, or the raw text when it is not JSON (events whose published data was a string). */
  data: T;
  /** The raw `data:` text. */
  raw: string;
}
