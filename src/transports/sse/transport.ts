import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, SystemType } from '../../codes.js';
import type { Hub } from '../../hub/hub.js';
import { Transport, type Subscriber } from '../../hub/subscriber.js';
import { isValidChannelName, userChannel } from '../../hub/channel-name.js';
import { parseEventId } from '../../hub/ids.js';
import type { Authenticator } from '../../auth/tokens.js';
import { joinDenied, type Identity } from '../../auth/permissions.js';
import { ExpiryWatch } from '../../auth/expiry.js';
import type { OriginPolicy } from '../http/cors.js';
import { sendError } from '../http/reject.js';
import { openEntry } from '../http/entry.js';
import type { ConnectionGate } from '../connection-gate.js';
import { admit, unadmit } from '../admission.js';
import type { HandlerGuard } from '../guard.js';
import { formatRetry, formatSseEvent, formatSseMessage, SSE_HEARTBEAT } from '../../wire/sse-format.js';
import { SpreadSweep } from '../spread-sweep.js';
import { releaseHttpState } from './release-http.js';
import { dropSocket } from '../drop-socket.js';
import { writeReplay, type ReplayPump, type ReplayTarget } from '../replay-pump.js';
import type { AppChannels } from '../../hub/app-channels.js';

import { SSE_PATH } from '../../wire/index.js';
export { SSE_PATH };

export interface SseTransportOptions {
  enabled: boolean;
  bufferBytes: number;
  heartbeatMs: number;
  retryMs: number;
  channelsPerConnection: number;
  /** The channels applications own, and what a request naming none joins. */
  appChannels: AppChannels;
}

const kConnection = Symbol('hubcast.sseConnection');
type TaggedSocket = Socket & { [kConnection]?: SseConnection };

/**
 * One SSE client. After the response head is written, events go straight to
 * the TCP socket: no chunked encoding and no per-write bookkeeping in
 * node:http. The body is close-delimited (RFC 9112 §6.3), which every SSE
 * client handles because the stream only ends when the connection does.
 */
class SseConnection implements Subscriber, ReplayTarget {
  readonly channels = new Set<string>();
  fanoutMark = 0;
  fanoutChangedAt = 0;
  /** When the heartbeat sweep writes to it next (see spread-sweep.ts). */
  sweepDue = 0;
  /** A resume's replay still being written: writes wait behind it (see replay-pump.ts). */
  replay: ReplayPump | null = null;
  constructor(
    /** `Transport.sse`, or `Transport.sseMessage` for `format=message`. */
    readonly transport: Transport.sse | Transport.sseMessage,
    readonly socket: Socket,
    readonly clientId: string,
    readonly identity: Identity,
    readonly owner: SseTransport,
    /** The client's address as admitted. */
    readonly address: string,
  ) {}

  get userId(): string | null {
    return this.identity.userId;
  }

  get bufferBytes(): number {
    return this.owner.bufferBytes;
  }

  /** A system event of this stream (`connected`, `recovery_failed`, `token_expired`) in its format. */
  system(id: string | null, payload: object): string {
    const json = JSON.stringify(payload);
    return this.transport === Transport.sse
      ? formatSseEvent(id, 'system', json)
      : formatSseMessage(id, 'system', 'null', json);
  }

  write(chunk: Buffer): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    if (this.replay !== null) {
      if (!this.replay.hold(chunk)) this.dropSlow();
      return;
    }
    const queued = socket.writableLength;
    if (queued > 0 && queued + chunk.length > this.owner.bufferBytes) return this.dropSlow();
    socket.write(chunk);
  }

  /**
   * Slow-client policy: drop the stream; the client's Last-Event-ID resume
   * replays what it missed from history. The shared error spares Node one
   * error object per write still queued (see drop-socket.ts).
   */
  dropSlow(): void {
    if (this.socket.destroyed) return;
    this.owner.slowClients++;
    dropSocket(this.socket);
  }
}

export class SseTransport {
  readonly bufferBytes: number;
  slowClients = 0;
  /** Streams refused 401, and streams ended because their token expired. */
  authFailures = 0;
  tokenExpiredCloses = 0;
  /** `: heartbeat` comments, each stream on its own phase of SSE_HEARTBEAT_MS. */
  private readonly heartbeat: SpreadSweep<SseConnection>;
  private readonly expiry = new ExpiryWatch<SseConnection>((conn) => this.expired(conn));

  constructor(
    private readonly hub: Hub,
    private readonly options: SseTransportOptions,
    private readonly auth: Authenticator,
    private readonly origins: OriginPolicy,
    private readonly gate: ConnectionGate,
    readonly guard: HandlerGuard,
  ) {
    this.bufferBytes = options.bufferBytes;
    this.heartbeat = new SpreadSweep(
      options.heartbeatMs,
      () => this.streams(),
      (conn) => conn.write(SSE_HEARTBEAT),
    );
  }

  /**
   * GET /realtime/events (called inside the guard). Once admitted, the socket
   * holds a connection slot until it closes; a refusal after admission gives
   * it back at once, as the keep-alive socket may stay open.
   */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const cors = openEntry(req, res, this.origins, {
      path: SSE_PATH,
      enabled: this.options.enabled,
      disabledMessage: 'SSE transport is disabled',
      methods: ['GET'],
      allowHeaders: 'Authorization, Last-Event-ID, Cache-Control',
    });
    if (cors === null) return;

    const channels = parseChannels(url.searchParams.get('channels'), this.options.appChannels.defaults);
    if (typeof channels === 'string') return sendError(res, 400, ErrorCode.invalidChannel, channels, cors);
    if (channels.length > this.options.channelsPerConnection) {
      return sendError(
        res,
        400,
        ErrorCode.tooManyChannels,
        `at most ${this.options.channelsPerConnection} channels per connection`,
        cors,
      );
    }
    const format = url.searchParams.get('format');
    if (format !== null && format !== 'message' && format !== 'event') {
      return sendError(
        res,
        400,
        ErrorCode.badRequest,
        `format ${JSON.stringify(format).slice(0, 60)} is not one of message, event`,
        cors,
      );
    }
    const transport = format === 'message' ? Transport.sseMessage : Transport.sse;
    const rawLast = headerValue(req.headers['last-event-id']) ?? url.searchParams.get('last_event_id');
    let since: number | null = null;
    // Blank (empty or whitespace) counts as no id, as an empty Last-Event-ID header does.
    if (rawLast !== null && rawLast.trim() !== '') {
      since = parseEventId(rawLast.trim());
      if (since === null)
        return sendError(
          res,
          400,
          ErrorCode.badRequest,
          `last event id ${JSON.stringify(rawLast).slice(0, 60)} is not an event id`,
          cors,
        );
    }
    const admission = await admit(this.gate, this.auth, req, url);
    if (admission.refused) {
      if (admission.status === 401) this.authFailures++;
      return sendError(
        res,
        admission.status,
        admission.code,
        admission.message,
        admission.retryLater ? { ...cors, 'Retry-After': '5' } : cors,
      );
    }
    const { address, identity } = admission;
    for (const channel of channels) {
      const denied = joinDenied(identity, channel, this.options.appChannels);
      if (denied !== null) {
        unadmit(this.gate, req);
        return sendError(res, 403, ErrorCode.forbidden, denied, cors);
      }
    }
    const socket = req.socket as TaggedSocket;
    // Gone while authentication ran (the client gave up before the head): its close gave the slot back.
    if (socket.destroyed) return;
    await this.open(transport, socket, req, res, identity, channels, since, cors, address);
  }

  private async open(
    transport: Transport.sse | Transport.sseMessage,
    socket: TaggedSocket,
    req: IncomingMessage,
    res: ServerResponse,
    identity: Identity,
    channels: string[],
    since: number | null,
    cors: Record<string, string>,
    address: string,
  ): Promise<void> {
    const clientId = randomUUID();
    const conn = new SseConnection(transport, socket, clientId, identity, this, address);
    conn.sweepDue = this.heartbeat.firstDue();
    socket[kConnection] = conn;
    // node:http must not time the stream out or write anything after us.
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    res.detachSocket?.(socket);
    let head =
      'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n';
    for (const [k, v] of Object.entries(cors)) head += `${k}: ${v}\r\n`;
    head += '\r\n' + formatRetry(this.options.retryMs);
    // The welcome carries the resume position, so a client that saw no event yet
    // still resumes from here (and a resuming client keeps its own).
    head += conn.system(String(since ?? this.hub.positionFor(channels)), {
      type: SystemType.connected,
      client_id: clientId,
      user_id: identity.userId,
      channels,
    });
    socket.write(head);
    // From here on node:http has no part in the stream: free what it holds per
    // connection, once it is done with this request (see releaseHttpState).
    queueMicrotask(() => releaseHttpState(socket, req));
    socket.once('close', onSocketClose);

    this.hub.addConnection(conn);
    const all = identity.userId !== null ? [...channels, userChannel(identity.userId)] : channels;
    const { failed, missed } = await this.hub.join(conn, all, since, true);
    if (failed.length > 0) {
      conn.write(Buffer.from(conn.system(null, { type: SystemType.recoveryFailed, channels: failed })));
    }
    if (missed !== null) writeReplay(conn, missed);
    this.expiry.track(conn);
  }

  /** The stream's socket closed (and gave its connection slot back with it). */
  closed(conn: SseConnection): void {
    this.hub.removeConnection(conn);
    this.expiry.untrack(conn);
  }

  /**
   * The stream's token expired: say so, then end the stream. An EventSource
   * would reconnect with the same (expired) URL and get 401, so the client
   * learns from this event to reconnect with a fresh token.
   */
  private expired(conn: SseConnection): void {
    if (conn.socket.destroyed) return;
    this.tokenExpiredCloses++;
    conn.write(Buffer.from(conn.system(null, { type: SystemType.tokenExpired, exp: conn.identity.exp })));
    conn.socket.end();
  }

  /** End every stream (shutdown); clients reconnect with Last-Event-ID. */
  closeAll(): void {
    this.heartbeat.stop();
    this.expiry.stop();
    for (const conn of [...this.streams()]) conn.socket.end();
  }

  stop(): void {
    this.heartbeat.stop();
    this.expiry.stop();
  }

  /** Every stream, both formats, live (see Hub.connections). */
  private *streams(): IterableIterator<SseConnection> {
    yield* this.hub.connections(Transport.sse) as IterableIterator<SseConnection>;
    yield* this.hub.connections(Transport.sseMessage) as IterableIterator<SseConnection>;
  }
}

function onSocketClose(this: TaggedSocket): void {
  const conn = this[kConnection];
  if (conn === undefined) return;
  this[kConnection] = undefined;
  try {
    conn.owner.closed(conn);
  } catch (err) {
    conn.owner.guard.connection('sse socket close', err, undefined, { clientId: conn.clientId });
  }
}

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}

/** `channels=a,b` → names, or a message naming the bad one. None named: `defaults` (applications' `defaultChannels`). */
export function parseChannels(raw: string | null, defaults: readonly string[]): string[] | string {
  if (raw === null || raw.trim() === '') return [...defaults];
  const names = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  if (names.length === 0) return [...defaults];
  for (const n of names) {
    if (!isValidChannelName(n)) return `invalid channel name ${JSON.stringify(n).slice(0, 140)} in channels`;
  }
  return names;
}
