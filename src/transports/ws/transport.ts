import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Logger } from 'pino';
import { CloseCode, ErrorCode } from '../../codes.js';
import type { Hub } from '../../hub/hub.js';
import { Transport } from '../../hub/subscriber.js';
import { userChannel } from '../../hub/channel-name.js';
import type { Authenticator } from '../../auth/tokens.js';
import type { Identity } from '../../auth/permissions.js';
import type { OriginPolicy } from '../http/cors.js';
import { rejectSocket } from '../http/reject.js';
import { LocalSignalRelay, type SignalRelay } from '../webrtc/relay.js';
import { Signaling, type SignalingOptions } from '../webrtc/signaling.js';
import { claimPeerId, wsPeerId } from '../webrtc/peer-id.js';
import { WsConnection, SLOW_CLOSE_GRACE_MS, type WsLimits } from './connection.js';
import type { AppChannels } from '../../hub/app-channels.js';
import { dispatchBinary, dispatchText, fail, type DispatchContext } from './dispatch.js';
import type { ConnectionGate } from '../connection-gate.js';
import { admit } from '../admission.js';
import { answerPlainGet } from './plain-get.js';
import { RateVerdict, takeBytes, takeToken, type ByteRateLimit, type RateLimit } from './rate-limit.js';
import { maxReadPauseMs, refuseOverBytes, refuseOverRate, resumeReading } from './rate-refusal.js';
import { SpreadSweep } from '../spread-sweep.js';
import { HeavyFrameQueue } from './heavy-frames.js';
import { ignoreSocketError, type HandlerGuard } from '../guard.js';
import { handshakeProblem, onHandshakeRefused } from './handshake.js';
import { bindSocket, type SocketOwner } from './socket-handlers.js';
import { WsTokenLifetime } from './token-lifetime.js';

import { SIGNALING_PATH, WS_PATH } from '../../wire/index.js';
export { SIGNALING_PATH, WS_PATH };

export interface WsTransportOptions {
  enabled: boolean;
  maxFrameBytes: number;
  bufferBytes: number;
  pingIntervalMs: number;
  channelsPerConnection: number;
  /** Incoming frames per second and burst per connection; `perSecond` 0 = unlimited. */
  rate?: RateLimit;
  /** Incoming bytes per second and burst per connection; `perSecond` 0 = unlimited. */
  byteRate?: ByteRateLimit;
  /** Bounds on `webrtc_signal` frames (size, rate per connection). */
  signaling?: SignalingOptions;
  /** Where peer ids live (cluster-wide with Redis); a node-local relay by default. */
  relay?: SignalRelay;
  /** The channels applications own: their publish rules, and who handles clients' posts there. */
  appChannels: AppChannels;
}

/**
 * WebSocket transport: upgrade admission (path, switch, origin, auth,
 * connection limit), then frames in → hub calls out. Socket events are handled
 * by module-level functions that find their state on the socket, so a
 * connection costs no closures (socket-handlers.ts).
 */
export class WsTransport implements SocketOwner {
  readonly signaling: Signaling;
  messagesIn = 0;
  slowClients = 0;
  /** Frames refused by the rate limit, and connections closed with 1008 for it. */
  rateLimited = 0;
  rateLimitCloses = 0;
  /** Of `rateLimited`, frames refused for bytes; each pauses the connection's reading. */
  byteRateLimited = 0;
  /** Upgrades refused 401, and connections closed 4001 because their token expired. */
  authFailures = 0;
  tokenExpiredCloses = 0;
  tokenRefreshes = 0;
  /** Closes a connection whose token expired; `refresh_token` moves the expiry. */
  private readonly tokens: WsTokenLifetime;
  private readonly limits: WsLimits;
  private readonly wss: WebSocketServer;
  private readonly ctx: DispatchContext;
  /** The channels applications own (see hub/app-channels.ts). */
  readonly appChannels: AppChannels;
  /** Keepalive pings, each connection on its own phase of WS_PING_INTERVAL_MS. */
  private readonly keepalive: SpreadSweep<WsConnection>;
  /** Longest one byte-rate refusal pauses reading (see rate-refusal.ts). */
  private readonly maxReadPauseMs: number;
  private readonly heavy = new HeavyFrameQueue<WsConnection>((conn, frame, isBinary) => {
    this.handle(conn, frame, isBinary);
    if (conn.heavyQueued === 0) resumeReading(conn);
  });

  constructor(
    private readonly hub: Hub,
    private readonly options: WsTransportOptions,
    private readonly auth: Authenticator,
    private readonly origins: OriginPolicy,
    private readonly gate: ConnectionGate,
    private readonly log: Logger,
    readonly guard: HandlerGuard,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // ws destroys a closing socket this long after close(); our own grace
      // timers (connection.ts) come first and destroy it more cheaply. (ws
      // 8.23 has the option; @types/ws 8.18 does not list it yet.)
      ...{ closeTimeout: SLOW_CLOSE_GRACE_MS + 5_000 },
      // A browser sends its token as the subprotocol `bearer.<token>`; the
      // handshake must echo an offered protocol or the browser aborts.
      handleProtocols: (protocols) => {
        for (const p of protocols) if (p.startsWith('bearer.')) return p;
        return protocols.values().next().value ?? false;
      },
    });
    // A handshake ws refuses (bad key, version or Upgrade value, a method other
    // than GET) is answered in our JSON shape; the socket closing gives the
    // connection slot back (see ConnectionGate.acquireFor).
    this.wss.on('wsClientError', onHandshakeRefused);
    const rate = options.rate !== undefined && options.rate.perSecond > 0 ? options.rate : null;
    const byteRate =
      options.byteRate !== undefined && options.byteRate.perSecond > 0
        ? { perSecond: options.byteRate.perSecond, burst: Math.max(options.byteRate.burst, options.maxFrameBytes) }
        : null;
    this.limits = { bufferBytes: options.bufferBytes, onSlow: () => void this.slowClients++, rate, byteRate };
    this.maxReadPauseMs = maxReadPauseMs(options.pingIntervalMs);
    this.appChannels = options.appChannels;
    this.signaling = new Signaling(
      options.relay ?? new LocalSignalRelay(),
      options.signaling ?? { maxSignalBytes: options.maxFrameBytes, rate: null },
    );
    this.ctx = {
      hub,
      signaling: this.signaling,
      channelsPerConnection: options.channelsPerConnection,
      appChannels: this.appChannels,
      // Finishes after the message handler returned: its own rejection goes to the guard.
      refreshToken: (conn, token, ref) =>
        void this.tokens
          .refresh(conn, token, ref)
          .catch((err: unknown) => this.guard.connection('ws message', err, conn, { clientId: conn.clientId })),
      asyncFailed: (conn, err) => this.guard.connection('ws message', err, conn, { clientId: conn.clientId }),
    };
    this.tokens = new WsTokenLifetime(hub, auth, this.appChannels, log, this);
    this.keepalive = new SpreadSweep(
      options.pingIntervalMs,
      () => this.hub.connections(Transport.ws) as Iterable<WsConnection>,
      (conn) => {
        // No pong since the last ping: the peer is gone.
        if (!conn.alive) return conn.terminate();
        conn.alive = false;
        conn.ws.ping();
      },
    );
  }

  handles(pathname: string): boolean {
    return pathname === WS_PATH || pathname === SIGNALING_PATH;
  }

  /** A `GET` without `Upgrade` on a path this transport handles (plain-get.ts); called inside the guard. */
  plainGet(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    return answerPlainGet(req, res, url, { enabled: this.options.enabled, origins: this.origins, auth: this.auth });
  }

  /**
   * `upgrade` event of the HTTP server, for a path this transport handles
   * (called inside the guard, which gave the socket an `error` listener).
   * Once admitted, the socket holds a connection slot until it closes, so no
   * refusal below has to give it back.
   */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    if (!this.options.enabled)
      return rejectSocket(socket, 404, ErrorCode.transportDisabled, 'WebSocket transport is disabled');
    if (!this.origins.allows(req.headers.origin)) {
      return rejectSocket(socket, 403, ErrorCode.forbidden, `origin ${req.headers.origin} is not allowed`);
    }
    const problem = handshakeProblem(req);
    if (problem !== null)
      return rejectSocket(socket, problem.status, ErrorCode.badRequest, problem.message, problem.headers);
    const admission = await admit(this.gate, this.auth, req, url);
    if (admission.refused) {
      if (admission.status === 401) this.authFailures++;
      return rejectSocket(socket, admission.status, admission.code, admission.message);
    }
    const { address, identity } = admission;
    let peerId: string | null;
    let claimed: string | null = null;
    if (url.pathname === SIGNALING_PATH) {
      const claim = claimPeerId(identity, url.searchParams.get('peer_id'));
      if (!claim.ok) return rejectSocket(socket, claim.status, claim.code, claim.message);
      peerId = claim.peerId;
      // Reserved before the handshake, on every node the relay spans: of two upgrades for one id, one gets 409.
      let held: boolean;
      try {
        held = await this.signaling.relay.claim(peerId);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'peer id registry unreachable');
        return rejectSocket(socket, 503, ErrorCode.notReady, 'peer ids cannot be checked right now: retry shortly');
      }
      if (!held) {
        return rejectSocket(
          socket,
          409,
          ErrorCode.peerIdTaken,
          `peer_id ${JSON.stringify(peerId).slice(0, 140)} is held by another connection`,
        );
      }
      claimed = peerId;
    } else peerId = wsPeerId(identity);
    // Gone while authentication ran: its close already gave the slot back.
    if (socket.destroyed) {
      if (claimed !== null) this.signaling.relay.release(claimed);
      return;
    }
    let opened = false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      opened = true;
      // ws calls back from its own socket handling: a throw here would not reach the upgrade guard.
      try {
        this.open(ws, socket, identity, peerId, address);
      } catch (err) {
        // Closing it below gives back a registered id; a claim not registered yet goes back here.
        if (claimed !== null) this.signaling.relay.release(claimed);
        this.guard.connection('upgrade', err, ws, { path: url.pathname });
      }
    });
    // Without verifyClient ws completes (or drops a dead socket) synchronously: no callback, no connection.
    if (!opened && claimed !== null) this.signaling.relay.release(claimed);
  }

  private open(ws: WebSocket, socket: Duplex, identity: Identity, peerId: string | null, address: string): void {
    const clientId = randomUUID();
    const conn = new WsConnection(ws, socket, clientId, identity, peerId, address, this.limits);
    conn.sweepDue = this.keepalive.firstDue();
    (socket as Socket).setNoDelay?.(true);
    // ws handles socket errors from here on; a second listener would only cost an array per connection.
    socket.removeListener('error', ignoreSocketError);
    this.hub.addConnection(conn);
    // The id was claimed in upgrade (or is a fresh UUID): refused only if a bug let two through.
    const taken = peerId !== null && !this.signaling.relay.add(conn);
    bindSocket(ws, conn, this);
    conn.send({
      type: 'connected',
      client_id: clientId,
      user_id: identity.userId,
      ...(peerId !== null ? { peer_id: peerId } : {}),
    });
    if (taken) {
      conn.send({
        type: 'error',
        code: ErrorCode.peerIdTaken,
        message: `peer_id ${JSON.stringify(peerId).slice(0, 140)} is held by another connection`,
      });
      return conn.close(CloseCode.policyViolation, 'peer_id is held by another connection');
    }
    if (identity.userId !== null) this.hub.join(conn, [userChannel(identity.userId)], null);
    this.tokens.track(conn);
  }

  /** Called by the close handler (the connection slot went back with the socket's close). */
  closed(conn: WsConnection): void {
    this.hub.removeConnection(conn);
    this.signaling.leave(conn);
    this.tokens.untrack(conn);
  }

  received(conn: WsConnection, data: RawData, isBinary: boolean): void {
    this.messagesIn++;
    // A connection on its way out (rate limit, expiry, slow client) handles nothing more.
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    const rate = this.limits.rate;
    if (rate !== null) {
      const verdict = takeToken(conn, rate, Date.now());
      if (verdict !== RateVerdict.ok) return refuseOverRate(this, conn, rate, verdict);
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const byteRate = this.limits.byteRate;
    if (byteRate !== null) {
      const verdict = takeBytes(conn, byteRate, Date.now(), buf.length);
      if (verdict !== RateVerdict.ok)
        return refuseOverBytes(this, conn, byteRate, verdict, buf.length, this.maxReadPauseMs);
    }
    if (HeavyFrameQueue.due(conn, buf)) {
      this.heavy.push(conn, buf, isBinary);
      // Not read on while it waits: the queue holds about one frame per connection, not whatever
      // clients manage to send while frames wait their turn.
      conn.ws.pause();
      return;
    }
    this.handle(conn, buf, isBinary);
  }

  private handle(conn: WsConnection, buf: Buffer, isBinary: boolean): void {
    // Queued frames may find their connection gone.
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    try {
      if (isBinary) dispatchBinary(this.ctx, conn, buf);
      else dispatchText(this.ctx, conn, buf.toString('utf8'));
    } catch (err) {
      // A bug, not a bad frame (those are answered inside dispatch): the
      // client is told and stays connected. Logged and counted by the guard;
      // the fuzz suite fails on any internal_error it sees.
      this.guard.record('ws frame', err, { clientId: conn.clientId });
      fail(conn, ErrorCode.internal, 'internal error handling this frame', undefined);
    }
  }

  error(conn: WsConnection, err: Error): void {
    // ws closes the socket itself (1009 for oversize, 1002 for protocol errors).
    this.log.debug({ clientId: conn.clientId, err: err.message }, 'websocket error');
  }

  /** Close every client with `code` (1012 on restart: clients reconnect elsewhere). */
  async closeAll(code: number = CloseCode.serviceRestart, reason = 'server restart', timeoutMs = 3000): Promise<void> {
    this.keepalive.stop();
    this.tokens.stop();
    const open = [...this.hub.connections(Transport.ws)] as WsConnection[];
    if (open.length === 0) return;
    const done = Promise.all(
      open.map(
        (c) =>
          new Promise<void>((resolve) => {
            c.ws.once('close', () => resolve());
            c.ws.close(code, reason);
          }),
      ),
    );
    const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([done, timer]);
    for (const c of open) c.terminate();
  }

  stop(): void {
    this.keepalive.stop();
    this.tokens.stop();
    this.wss.close();
  }
}
