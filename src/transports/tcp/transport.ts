import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import { splitLines } from './lines.js';
import { ErrorCode } from '../../codes.js';
import { HubcastError, describeIssues } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import { userChannel } from '../../hub/channel-name.js';
import type { Authenticator } from '../../auth/tokens.js';
import { anonymous, type Identity } from '../../auth/permissions.js';
import { ExpiryWatch } from '../../auth/expiry.js';
import { Refusal, type ConnectionGate } from '../connection-gate.js';
import type { HandlerGuard } from '../guard.js';
import { LocalSignalRelay } from '../webrtc/relay.js';
import { Signaling } from '../webrtc/signaling.js';
import { parseClientFrame } from '../ws/protocol.js';
import { dispatchText, fail, leaveRevoked, reply, type DispatchContext, type Ref } from '../ws/dispatch.js';
import { RateVerdict, bytesDueIn, takeBytes, takeToken, type ByteRateLimit, type RateLimit } from '../ws/rate-limit.js';
import { HeavyFrameQueue } from '../ws/heavy-frames.js';
import { TcpConnection, kTcpConnection, type TcpSocket } from './connection.js';
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
/** Longest one byte-rate refusal pauses reading. */
const MAX_READ_PAUSE_MS = 5000;
const CR = 13;

/** `auth` data. A JWT is compact; 8 KiB is far past any real one. */
const authData = z.object({ token: z.string().min(1).max(8192) });

/**
 * Raw TCP (docs/protocol.md, "Raw TCP"): a `net` server on HOST:TCP_PORT.
 * Each `\n`-terminated line is one JSON frame of the WebSocket protocol, both
 * ways, handled by the WebSocket dispatcher; the first line the server sends
 * is `connected`. The same hub, connection slots, rate limits, outgoing-buffer
 * bound and auth (a first `auth` command instead of a header) as WebSocket.
 * Socket handlers are module-level and find their connection on the socket.
 */
export class TcpTransport {
  messagesIn = 0;
  slowClients = 0;
  rateLimited = 0;
  rateLimitCloses = 0;
  authFailures = 0;
  tokenExpiredCloses = 0;
  readonly open = new Set<TcpConnection>();
  private readonly server: Server;
  private readonly options: Required<TcpTransportOptions>;
  /** Outgoing bytes queued on a socket before its client counts as slow (CLIENT_BUFFER_BYTES). */
  readonly bufferBytes: number;
  private readonly ctx: DispatchContext<TcpConnection>;
  private readonly expiry = new ExpiryWatch<TcpConnection>((conn) => this.expired(conn));
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
    this.ctx = {
      hub,
      // No peer ids over TCP: every signal is refused before it reaches a relay.
      signaling: new Signaling(new LocalSignalRelay(), { maxSignalBytes: options.maxLineBytes, rate: null }),
      channelsPerConnection: options.channelsPerConnection,
      appChannels: options.appChannels,
      refreshToken: (conn, token, ref) =>
        void this.refreshToken(conn, token, ref).catch((err: unknown) => this.failed(conn, 'tcp line', err)),
      asyncFailed: (conn, err) => this.failed(conn, 'tcp line', err),
    };
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
    socket[kTcpConnection] = conn;
    this.open.add(conn);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    conn.send({ type: 'connected', client_id: conn.clientId, user_id: null });
    if (pending) conn.authTimer = setTimeout(authDeadline, this.options.authDeadlineMs, conn).unref();
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
      if (verdict !== RateVerdict.ok)
        return this.limited(conn, `${rate.perSecond} frames/s (burst ${rate.burst})`, verdict);
    }
    const byteRate = this.options.byteRate;
    if (byteRate !== null) {
      const verdict = takeBytes(conn, byteRate, now, line.length);
      if (verdict !== RateVerdict.ok) {
        this.limited(conn, `${byteRate.perSecond} bytes/s (burst ${byteRate.burst})`, verdict);
        if (verdict === RateVerdict.limited && now >= conn.readPausedUntil) {
          // TCP holds the sender back while this process reads nothing.
          const wait = Math.min(bytesDueIn(conn, byteRate, line.length), MAX_READ_PAUSE_MS);
          conn.readPausedUntil = now + wait;
          conn.socket.pause();
          setTimeout(readPauseOver, wait, conn).unref();
        }
        return;
      }
    }
    if (conn.authPending) return this.firstFrame(conn, line.toString('utf8'));
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

  private limited(conn: TcpConnection, what: string, verdict: RateVerdict): void {
    this.rateLimited++;
    if (verdict === RateVerdict.exceeded) {
      this.rateLimitCloses++;
      return conn.end({ type: 'error', code: ErrorCode.rateLimited, message: `kept sending over ${what}: closing` });
    }
    conn.send({ type: 'error', code: ErrorCode.rateLimited, message: `over ${what}: frame dropped` });
  }

  /** With auth on, the first frame must be `auth`. */
  private firstFrame(conn: TcpConnection, text: string): void {
    const parsed = parseClientFrame(text);
    if (!parsed.ok || parsed.frame.type !== 'command' || parsed.frame.command !== 'auth') {
      const anon = this.auth.anonymousIdentity();
      if (anon !== null) {
        // AUTH_ANONYMOUS: a client without a token is anonymous; this frame is its first ordinary one.
        this.admitted(conn, anon);
        return dispatchText(this.ctx, conn, text);
      }
      this.authFailures++;
      return conn.end({
        type: 'error',
        code: ErrorCode.unauthorized,
        message: 'auth is on: the first frame must be {"type":"command","command":"auth","data":{"token":"<jwt>"}}',
      });
    }
    const ref = parsed.frame.ref;
    const data = authData.safeParse(parsed.frame.data);
    if (!data.success) {
      this.authFailures++;
      return conn.end({
        type: 'error',
        code: ErrorCode.unauthorized,
        message: `data.${describeIssues(data.error.issues)}`,
        ...(ref !== undefined ? { ref } : {}),
      });
    }
    conn.verifying = true;
    conn.socket.pause();
    this.auth.verify(data.data.token).then(
      (identity) => this.authenticated(conn, identity, ref),
      (err: unknown) => {
        conn.verifying = false;
        if (!(err instanceof HubcastError)) return this.failed(conn, 'tcp line', err);
        this.authFailures++;
        conn.end({ type: 'error', code: err.code, message: err.message, ...(ref !== undefined ? { ref } : {}) });
      },
    );
  }

  /** Let in with `identity`: into the hub, its user channel joined, its token's expiry watched. */
  private admitted(conn: TcpConnection, identity: Identity): void {
    if (conn.authTimer !== null) clearTimeout(conn.authTimer);
    conn.authTimer = null;
    conn.identity = identity;
    conn.authPending = false;
    this.hub.addConnection(conn);
    if (identity.userId !== null) this.hub.join(conn, [userChannel(identity.userId)], null);
    this.expiry.track(conn);
  }

  private authenticated(conn: TcpConnection, identity: Identity, ref: Ref): void {
    conn.verifying = false;
    if (conn.closing || conn.socket.destroyed) return;
    this.admitted(conn, identity);
    // Answered with or without a ref: a human typing the command wants to see it took.
    conn.send({
      type: 'reply',
      ...(ref !== undefined ? { ref } : {}),
      ok: true,
      data: { user_id: identity.userId, exp: identity.exp },
    });
    const waiting = conn.waiting;
    conn.waiting = null;
    if (waiting !== null) for (const chunk of waiting) this.received(conn, chunk);
    resumeReading(conn);
  }

  /** `refresh_token` over TCP: as on WebSocket (ws/token-lifetime.ts). */
  private async refreshToken(conn: TcpConnection, token: string, ref: Ref): Promise<void> {
    if (!this.auth.enabled)
      return fail(conn, ErrorCode.badRequest, 'auth is off (no JWT_SECRET): there is no token to refresh', ref);
    let identity: Identity;
    try {
      identity = await this.auth.verify(token);
    } catch (err) {
      if (conn.closing) return;
      if (err instanceof HubcastError) return fail(conn, err.code, err.message, ref);
      throw err;
    }
    if (conn.closing) return;
    if (identity.userId !== conn.identity.userId)
      return fail(conn, ErrorCode.forbidden, "refresh_token must carry the same sub as the connection's token", ref);
    conn.identity = identity;
    const left = leaveRevoked(this.hub, conn, identity, this.options.appChannels);
    this.expiry.track(conn);
    reply(conn, ref, { exp: identity.exp, ...(left.length > 0 ? { left } : {}) });
  }

  authTimedOut(conn: TcpConnection): void {
    conn.authTimer = null;
    if (!conn.authPending || conn.verifying) return;
    this.authFailures++;
    conn.end({
      type: 'error',
      code: ErrorCode.unauthorized,
      message: `no auth command within ${this.options.authDeadlineMs} ms: closing`,
    });
  }

  private expired(conn: TcpConnection): void {
    if (conn.closing) return;
    this.tokenExpiredCloses++;
    conn.end({
      type: 'error',
      code: ErrorCode.tokenExpired,
      message: 'token expired: send refresh_token before exp to stay connected, or reconnect with a new token',
    });
  }

  /** The socket closed (and gave its connection slot back with it). */
  closed(conn: TcpConnection): void {
    conn.closing = true;
    if (conn.authTimer !== null) clearTimeout(conn.authTimer);
    conn.authTimer = null;
    this.open.delete(conn);
    this.hub.removeConnection(conn);
    this.expiry.untrack(conn);
  }

  failed(conn: TcpConnection, kind: 'tcp line' | 'tcp close', err: unknown): void {
    this.guard.record(kind, err, { clientId: conn.clientId });
    if (kind === 'tcp line') conn.end({ type: 'error', code: ErrorCode.internal, message: 'internal error: closing' });
  }

  /** Stop accepting and end every connection (shutdown): clients reconnect and join with `since`. */
  closeAll(): void {
    this.closingAll = true;
    this.server.close();
    this.expiry.stop();
    for (const conn of [...this.open])
      conn.end({ type: 'error', code: ErrorCode.notReady, message: 'server restart: reconnect' });
  }

  stop(): void {
    this.closingAll = true;
    this.server.close();
    this.expiry.stop();
  }
}

/** Refused before a connection exists: one error line, then close. */
function endRaw(socket: Socket, code: ErrorCode, message: string): void {
  socket.end(JSON.stringify({ type: 'error', code, message }) + '\n');
  setTimeout(() => socket.destroy(), 2000).unref();
}

function onData(this: TcpSocket, chunk: Buffer): void {
  const conn = this[kTcpConnection];
  if (conn === undefined) return;
  const owner = conn.owner;
  try {
    owner.received(conn, chunk);
  } catch (err) {
    owner.failed(conn, 'tcp line', err);
  }
}

// The client half-closed: nothing more will come; what we still send is flushed, then we close too.
function onEnd(this: TcpSocket): void {
  this.end();
}

function onClose(this: TcpSocket): void {
  const conn = this[kTcpConnection];
  if (conn === undefined) return;
  this[kTcpConnection] = undefined;
  const owner = conn.owner;
  try {
    owner.closed(conn);
  } catch (err) {
    owner.failed(conn, 'tcp close', err);
  }
}

// ECONNRESET and the like: `close` follows and cleans up.
function onSocketError(): void {}

function authDeadline(conn: TcpConnection): void {
  conn.owner.authTimedOut(conn);
}

function readPauseOver(conn: TcpConnection): void {
  conn.readPausedUntil = 0;
  resumeReading(conn);
}

/** Reading resumes when no reason to pause holds: a token being verified, a heavy line waiting, a byte-rate wait. */
function resumeReading(conn: TcpConnection): void {
  if (conn.closing || conn.verifying || conn.heavyQueued > 0 || conn.readPausedUntil !== 0) return;
  conn.socket.resume();
}
