import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { Transport, type Subscriber } from '../../hub/subscriber.js';
import type { Identity } from '../../auth/permissions.js';
import { CloseCode } from '../../codes.js';
import { encodeTextFrame } from '../../wire/ws-frame.js';
import { dropSocket } from '../drop-socket.js';
import type { ByteRateLimit, ByteRateState, RateLimit, RateState } from './rate-limit.js';
import type { HeavyFrameState } from './heavy-frames.js';
import type { ReplayPump, ReplayTarget } from '../replay-pump.js';

/** Where the connection object hangs off its `ws` socket (module-level handlers find it here). */
export const kConnection = Symbol('hubcast.wsConnection');

export interface WsLimits {
  /** Outgoing bytes queued in the kernel-side socket buffer before the client counts as slow. */
  bufferBytes: number;
  /** Counts slow-client drops (shared by every connection of the transport). */
  onSlow(): void;
  /** Incoming frame rate; null when unlimited. */
  rate: RateLimit | null;
  /** Incoming byte rate; null when unlimited. */
  byteRate: ByteRateLimit | null;
}

/**
 * One WebSocket client. Fan-out bytes go straight to the TCP socket: frames
 * are pre-built by the hub, and without permessage-deflate `ws` writes its own
 * frames synchronously too, so the two never interleave mid-frame.
 */
export class WsConnection implements Subscriber, RateState, ByteRateState, HeavyFrameState, ReplayTarget {
  readonly transport = Transport.ws;
  readonly channels = new Set<string>();
  fanoutMark = 0;
  fanoutChangedAt = 0;
  readonly clientId: string;
  readonly ws: WebSocket;
  readonly socket: Duplex;
  /** Replaced as a whole by `refresh_token` (the expiry sweep reads it live). */
  identity: Identity;
  /** The client's address as admitted (a closed socket forgets its remoteAddress). */
  readonly address: string;
  /** Rate-limit bucket (see rate-limit.ts): plain fields, read on every frame. */
  tokens: number;
  tokensAt: number;
  refused = 0;
  /** Byte-rate bucket, likewise. */
  byteTokens: number;
  byteTokensAt: number;
  bytesRefused = 0;
  /** Frames waiting in the heavy-frame queue (heavy-frames.ts); reading is paused meanwhile. */
  heavyQueued = 0;
  /** Reading paused for the byte rate until then (ms since the epoch); 0 when not. */
  readPausedUntil = 0;
  /** Signal-rate bucket, made on the first signal (most connections never send one). */
  signalRate: RateState | null = null;
  /**
   * Who other peers address signals to: the claimed `peer_id` on the signaling
   * endpoint, a random id on `/realtime/ws` (never the client id, which other
   * clients see in channel messages); null when the connection may not signal.
   */
  readonly peerId: string | null;
  alive = true;
  /** When the keepalive sweep pings it next (see spread-sweep.ts). */
  sweepDue = 0;
  /** A resume's replay still being written: writes wait behind it (see replay-pump.ts). */
  replay: ReplayPump | null = null;
  /** Set once the slow-client policy closed it: nothing more is queued. */
  private dropped = false;
  private readonly limits: WsLimits;

  constructor(
    ws: WebSocket,
    socket: Duplex,
    clientId: string,
    identity: Identity,
    peerId: string | null,
    address: string,
    limits: WsLimits,
  ) {
    this.ws = ws;
    this.socket = socket;
    this.clientId = clientId;
    this.identity = identity;
    this.peerId = peerId;
    this.address = address;
    this.limits = limits;
    const now = Date.now();
    this.tokens = limits.rate === null ? 0 : limits.rate.burst;
    this.tokensAt = now;
    this.byteTokens = limits.byteRate === null ? 0 : limits.byteRate.burst;
    this.byteTokensAt = now;
  }

  get userId(): string | null {
    return this.identity.userId;
  }

  get bufferBytes(): number {
    return this.limits.bufferBytes;
  }

  write(chunk: Buffer): void {
    const socket = this.socket;
    if (this.dropped || socket.destroyed || !socket.writable) return;
    if (this.replay !== null) {
      if (!this.replay.hold(chunk)) this.dropSlow();
      return;
    }
    // A client that keeps up has drained the last batch before the next one
    // (writableLength 0); one that has not and would go past the bound is slow.
    const queued = socket.writableLength;
    if (queued > 0 && queued + chunk.length > this.limits.bufferBytes) return this.dropSlow();
    socket.write(chunk);
  }

  /** Slow-client policy: never queue without bound; the client resumes with `since`. */
  dropSlow(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.limits.onSlow();
    this.close(CloseCode.tryAgainLater, 'slow consumer: outgoing buffer full', SLOW_CLOSE_GRACE_MS);
  }

  /** A control frame for this client only (replies, errors, echoes). */
  send(message: object): void {
    this.write(encodeTextFrame(JSON.stringify(message)));
  }

  /** Close with `code`; the socket is destroyed `graceMs` later if the client has not completed the closing handshake. */
  close(code: number, reason: string, graceMs = CLOSE_GRACE_MS): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(code, reason);
      // Don't wait long for a closing handshake from a client that stopped reading.
      setTimeout(terminate, graceMs, this).unref();
    }
  }

  /**
   * Destroy the socket now (what `ws.terminate()` does once open), failing
   * the writes still queued with one shared error (see drop-socket.ts);
   * ws sees the socket error and close and emits `close` as usual.
   */
  terminate(): void {
    if (this.ws.readyState !== this.ws.CLOSED) dropSocket(this.socket);
  }
}

const CLOSE_GRACE_MS = 2000;
/**
 * A slow consumer's close frame sits behind the bytes it has not read yet:
 * destroying the socket early would discard both, and the client, once it
 * reads again, would see a dead connection instead of 1013 ("resume with
 * `since`"). It keeps the socket, and at most its CLIENT_BUFFER_BYTES, this
 * long (ws's own close timer, which destroys without the shared error, is
 * set to fire after it: see `closeTimeout` in transport.ts).
 */
export const SLOW_CLOSE_GRACE_MS = 30_000;

function terminate(conn: WsConnection): void {
  conn.terminate();
}
