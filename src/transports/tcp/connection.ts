import type { Socket } from 'node:net';
import { Transport } from '../../hub/subscriber.js';
import type { Identity } from '../../auth/permissions.js';
import { dropSocket } from '../drop-socket.js';
import type { DispatchConnection } from '../ws/dispatch.js';
import type { ByteRateState, RateState } from '../ws/rate-limit.js';
import type { HeavyFrameState } from '../ws/heavy-frames.js';
import type { TcpTransport } from './transport.js';
import type { ReplayPump, ReplayTarget } from '../replay-pump.js';

/** Where the connection object hangs off its socket (module-level handlers find it here). */
export const kTcpConnection = Symbol('hubcast.tcpConnection');
export type TcpSocket = Socket & { [kTcpConnection]?: TcpConnection };

/** A closing connection's last bytes get this long to reach a client that stopped reading. */
const END_GRACE_MS = 2000;

/**
 * One raw TCP client: each line one JSON frame of the WebSocket protocol, both
 * ways. Fan-out bytes (the publications' cached TCP lines) go straight to the
 * socket, as for WS and SSE.
 */
export class TcpConnection implements DispatchConnection, RateState, ByteRateState, HeavyFrameState, ReplayTarget {
  readonly transport = Transport.tcp;
  readonly channels = new Set<string>();
  fanoutMark = 0;
  fanoutChangedAt = 0;
  /** A TCP client holds no peer id: `webrtc_signal` is refused (signaling is for browsers). */
  readonly peerId = null;
  signalRate: RateState | null = null;
  identity: Identity;
  /** Auth is on and the `auth` command has not succeeded yet: nothing joins the hub until it does. */
  authPending: boolean;
  /** The `auth` command's token is being verified: reading is paused, lines already read wait in `waiting`. */
  verifying = false;
  waiting: Buffer[] | null = null;
  authTimer: NodeJS.Timeout | null = null;
  /** A line not terminated yet, in parts, and its length. */
  partial: Buffer[] = [];
  partialBytes = 0;
  /** Frame and byte buckets (see ws/rate-limit.ts). */
  tokens: number;
  tokensAt: number;
  refused = 0;
  byteTokens: number;
  byteTokensAt: number;
  bytesRefused = 0;
  readPausedUntil = 0;
  /** Lines waiting in the heavy-line queue; reading is paused meanwhile. */
  heavyQueued = 0;
  /** Ended or dropped: nothing more is written or read. */
  closing = false;
  /** A resume's replay still being written: writes wait behind it (see replay-pump.ts). */
  replay: ReplayPump | null = null;

  constructor(
    readonly socket: TcpSocket,
    readonly clientId: string,
    identity: Identity,
    authPending: boolean,
    /** The client's address as admitted (a closed socket forgets its remoteAddress). */
    readonly address: string,
    readonly owner: TcpTransport,
    frameBurst: number,
    byteBurst: number,
  ) {
    this.identity = identity;
    this.authPending = authPending;
    const now = Date.now();
    this.tokens = frameBurst;
    this.tokensAt = now;
    this.byteTokens = byteBurst;
    this.byteTokensAt = now;
  }

  get userId(): string | null {
    return this.identity.userId;
  }

  get bufferBytes(): number {
    return this.owner.bufferBytes;
  }

  write(chunk: Buffer): void {
    const socket = this.socket;
    if (this.closing || socket.destroyed || !socket.writable) return;
    if (this.replay !== null) {
      if (!this.replay.hold(chunk)) this.dropSlow();
      return;
    }
    const queued = socket.writableLength;
    if (queued > 0 && queued + chunk.length > this.owner.bufferBytes) return this.dropSlow();
    socket.write(chunk);
  }

  /** Slow-client policy: never queue without bound; the client reconnects and joins with `since`. */
  dropSlow(): void {
    if (this.closing) return;
    this.closing = true;
    this.owner.slowClients++;
    dropSocket(this.socket);
  }

  send(message: object): void {
    this.write(Buffer.from(JSON.stringify(message) + '\n'));
  }

  /** Send `last` (an error frame saying why) and close; a client that does not read is cut off soon after. */
  end(last: object): void {
    if (this.closing) return;
    this.send(last);
    this.closing = true;
    this.socket.end();
    setTimeout(destroyLater, END_GRACE_MS, this.socket).unref();
  }
}

function destroyLater(socket: Socket): void {
  if (!socket.destroyed) dropSocket(socket);
}
