import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { splitLines } from './lines.js';
import { ErrorCode } from '../../codes.js';
import type { Hub } from '../../hub/hub.js';
import type { Authenticator } from '../../auth/tokens.js';
import { anonymous } from '../../auth/permissions.js';
import { Refusal, type ConnectionGate } from '../connection-gate.js';
import type { HandlerGuard } from '../guard.js';
import { LocalSignalRelay } from '../webrtc/relay.js';
import { Signaling } from '../webrtc/signaling.js';
import { dispatchText, fail, type DispatchContext } from '../ws/dispatch.js';
import { RateVerdict, takeBytes, takeToken, type ByteRateLimit, type RateLimit } from '../ws/rate-limit.js';
import { HeavyFrameQueue } from '../ws/heavy-frames.js';
import { TcpConnection, type TcpSocket } from './connection.js';
import { AuthCommand, clearAuthTimer } from './auth-command.js';
import { TcpTokenLifetime } from './token-lifetime.js';
import { refuseOverBytes, refuseOverRate, resumeReading } from './rate-refusal.js';
import { bindSocket, onSocketError } from './socket-handlers.js';
import type { AppChannels } from '../../hub/app-channels.js';

export interface TcpTransportOptions {
  /** Longest line, in bytes (WS_MAX_FRAME_BYTES): a longer one gets an `error` frame and the connection is closed. */
  maxLineBytes: number;
  bufferBytes: number;
  channelsPerConnection: number;
  rate: RateLimit | null;
  byteRate: ByteRateLimit | null;
  /** Channels applications handle themselves (chat), shared with the WebSocket transport. */
  appChannels: AppChannels;
  /** With auth on, how long a client has to send its `auth` command. */
  authDeadlineMs?: number;
}

const DEFAULTS = { authDeadlineMs: 10_000 };
const CR = 13;

/**
 * Raw TCP (docs/protocol.md, "Raw TCP"): a `net` server on HOST:TCP_PORT.
 * Each `\n`-terminated line is one JSON frame of the WebSocket protocol, both
 * ways, handled by the WebSocket dispatcher; the first line the server sends
 * is `connected`. The same hub, connection slots, rate limits, outgoing-buffer
 * bound and auth (a first `auth` command instead of a header, auth-command.ts)
 * as WebSocket. Socket handlers are module-level and find their connection on
 * the socket (socket-handlers.ts).
 */
export class TcpTransport {
  messagesIn = 0;
  slowClients = 0;
  rateLimited = 0;
  rateLimitCloses = 0;
  authFailures = 0;
  tokenExpiredCloses = 0;
  tokenRefreshes = 0;
  readonly open = new Set<TcpConnection>();
  private readonly server: Server;
  private readonly options: Required<TcpTransportOptions>;
  /** Outgoing bytes queued on a socket before its client counts as slow (CLIENT_BUFFER_BYTES). */
  readonly bufferBytes: number;
  private readonly ctx: DispatchContext<TcpConnection>;
  private readonly tokens: TcpTokenLifetime;
  private readonly handshake: AuthCommand;
  private closingAll = false;
  /** Lines of 64 KiB and more take turns with everyone else's, as WS frames do (see heavy-frames.ts). */
  private readonly heavy = new HeavyFrameQueue<TcpConnection>((conn, line) => {
    if (!conn.closing) this.dispatch(conn, line.toString('utf8'));
    resumeReading(conn);
  });

  constructor(
    private readonly hub: Hub,
    options: TcpTransportOptions,
    private readonly auth: Authenticator,
    private readonly gate: ConnectionGate,
    private readonly log: Logger,
    readonly guard: HandlerGuard,
  ) {
    this.options = { ...DEFAULTS, ...options };
    if (this.options.byteRate !== null) {
      this.options.byteRate = {
        perSecond: this.options.byteRate.perSecond,
        burst: Math.max(this.options.byteRate.burst, this.options.maxLineBytes),
      };
    }
    this.bufferBytes = options.bufferBytes;
    this.tokens = new TcpTokenLifetime(hub, auth, options.appChannels, this);
    this.ctx = {
      hub,
      // No peer ids over TCP: every signal is refused before it reaches a relay.
      signaling: new Signaling(new LocalSignalRelay(), { maxSignalBytes: options.maxLineBytes, rate: null }),
      channelsPerConnection: options.channelsPerConnection,
      appChannels: options.appChannels,
      refreshToken: (conn, token, ref) =>
        void this.tokens.refresh(conn, token, ref).catch((err: unknown) => this.failed(conn, 'tcp line', err)),
      asyncFailed: (conn, err) => this.failed(conn, 'tcp line', err),
    };
    this.handshake = new AuthCommand(hub, auth, this.tokens, this.ctx, this, this.options.authDeadlineMs);
    this.server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 }, (socket) => {
      try {
        this.connection(socket as TcpSocket);
      } catch (err) {
        this.guard.record('tcp line', err);
        socket.destroy();
      }
    });
    this.server.on('error', (err) => this.log.error({ err }, 'tcp server error'));
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  get address(): AddressInfo | null {
    return (this.server.address() as AddressInfo | null) ?? null;
  }

  private connection(socket: TcpSocket): void {
    socket.on('error', onSocketError);
    const address = socket.remoteAddress ?? '';
    if (this.closingAll) return endRaw(socket, ErrorCode.notReady, 'server is shutting down');
    const refusal = this.gate.acquireFor(socket, address);
    if (refusal === Refusal.gone) return;
    if (refusal !== Refusal.none) return endRaw(socket, ErrorCode.tooManyConnections, this.gate.describe(refusal));
    const pending = this.auth.enabled;
    const rate = this.options.rate;
    const byteRate = this.options.byteRate;
    const conn = new TcpConnection(
      socket,
      randomUUID(),
      anonymous(),
      pending,
      address,
      this,
      rate?.burst ?? 0,
      byteRate?.burst ?? 0,
    );
    this.open.add(conn);
    bindSocket(socket, conn);
    conn.send({ type: 'connected', client_id: conn.clientId, user_id: null });
    if (pending) this.handshake.startDeadline(conn);
    else this.hub.addConnection(conn);
  }

  /** Bytes from the socket: split into lines, each bounded by `maxLineBytes`. */
  received(conn: TcpConnection, chunk: Buffer): void {
    if (conn.closing) return;
    if (conn.verifying) {
      (conn.waiting ??= []).push(chunk);
      return;
    }
    splitLines(conn, chunk, this.options.maxLineBytes, this.lineBound, this.tooLongBound);
  }

  private readonly lineBound = (conn: TcpConnection, raw: Buffer): void => this.line(conn, raw);
  private readonly tooLongBound = (conn: TcpConnection): void => this.tooLong(conn);

  private tooLong(conn: TcpConnection): void {
    conn.partial = [];
    conn.partialBytes = 0;
    conn.end({
      type: 'error',
      code: ErrorCode.payloadTooLarge,
      message: `line longer than ${this.options.maxLineBytes} bytes (WS_MAX_FRAME_BYTES): closing`,
    });
  }

  private line(conn: TcpConnection, raw: Buffer): void {
    const line = raw.length > 0 && raw[raw.length - 1] === CR ? raw.subarray(0, raw.length - 1) : raw;
    // An empty line (a human pressing Enter) is no frame.
    if (line.length === 0) return;
    this.messagesIn++;
    const now = Date.now();
    const rate = this.options.rate;
    if (rate !== null) {
      const verdict = takeToken(conn, rate, now);
      if (verdict !== RateVerdict.ok) return refuseOverRate(this, conn, rate, verdict);
    }
    const byteRate = this.options.byteRate;
    if (byteRate !== null) {
      const verdict = takeBytes(conn, byteRate, now, line.length);
      if (verdict !== RateVerdict.ok) return refuseOverBytes(this, conn, byteRate, verdict, line.length, now);
    }
    if (conn.authPending) return this.handshake.firstFrame(conn, line.toString('utf8'));
    if (HeavyFrameQueue.due(conn, line)) {
      // Not read on while it waits: later lines of this connection queue behind it, in order.
      this.heavy.push(conn, line, false);
      conn.socket.pause();
      return;
    }
    this.dispatch(conn, line.toString('utf8'));
  }

  private dispatch(conn: TcpConnection, text: string): void {
    try {
      dispatchText(this.ctx, conn, text);
    } catch (err) {
      // A bug, not a bad frame (those are answered inside dispatch): the client is told and stays.
      this.guard.record('tcp line', err, { clientId: conn.clientId });
      fail(conn, ErrorCode.internal, 'internal error handling this frame', undefined);
    }
  }

  /** The socket closed (and gave its connection slot back with it). */
  closed(conn: TcpConnection): void {
    conn.closing = true;
    clearAuthTimer(conn);
    this.open.delete(conn);
    this.hub.removeConnection(conn);
    this.tokens.untrack(conn);
  }

  failed(conn: TcpConnection, kind: 'tcp line' | 'tcp close', err: unknown): void {
    this.guard.record(kind, err, { clientId: conn.clientId });
    if (kind === 'tcp line') conn.end({ type: 'error', code: ErrorCode.internal, message: 'internal error: closing' });
  }

  /** Stop accepting and end every connection (shutdown): clients reconnect and join with `since`. */
  closeAll(): void {
    this.closingAll = true;
    this.server.close();
    this.tokens.stop();
    for (const conn of [...this.open])
      conn.end({ type: 'error', code: ErrorCode.notReady, message: 'server restart: reconnect' });
  }

  stop(): void {
    this.closingAll = true;
    this.server.close();
    this.tokens.stop();
  }
}

/** Refused before a connection exists: one error line, then close. */
function endRaw(socket: Socket, code: ErrorCode, message: string): void {
  socket.end(JSON.stringify({ type: 'error', code, message }) + '\n');
  setTimeout(() => socket.destroy(), 2000).unref();
}
