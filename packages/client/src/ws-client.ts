import { CloseCode } from './wire/codes.js';
import { backoffDelay, RECONNECT_DEFAULTS } from './backoff.js';
import { BinaryMessage } from './binary-message.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { loadWebSocket, unrefTimer } from './load.js';
import { Outbox } from './outbox.js';
import { withDefaults } from './merge.js';
import { Subscriptions, type JoinOptions, type JoinReply, type Subscription } from './subscriptions.js';
import type { AckState } from './acker.js';
import { WsAcks } from './ws-acks.js';
import { afterRefusal } from './refusal.js';
import type {
  ConnectionState,
  ErrorFrame,
  EventFrame,
  MessageMap,
  ReplyFrame,
  ServerFrame,
  StateChange,
  WebRTCSignal,
  WebSocketConstructor,
  WebSocketLike,
  WSClientOptions,
} from './types.js';

import { WS_PATH } from './wire/paths.js';
export { WS_PATH };

const DEFAULTS = {
  ...RECONNECT_DEFAULTS,
  tokenTransport: 'protocol' as 'protocol' | 'query',
  connectTimeout: 10_000,
  commandTimeout: 10_000,
  maxQueuedMessages: 100,
  ackInbox: true,
};

/**
 * Close codes after which reconnecting would only repeat the failure: a
 * deliberate close, a protocol or policy violation, a frame over the limit.
 * Everything else (1001, 1006 abnormal, 1011, 1012 restart, 1013 slow
 * consumer, …) reconnects. 4001 (token expired) reconnects only with `getToken`.
 */
const FINAL_CLOSE_CODES = new Set<number>([
  CloseCode.normal,
  1002,
  1003,
  1007,
  CloseCode.policyViolation,
  CloseCode.messageTooBig,
  1010,
]);

/** The socket closed or the attempt failed locally (timeout, token error). */
const LOCAL_FAILURE = 4999;

/**
 * hubcast WebSocket client: one connection, an explicit state machine,
 * automatic reconnect with full-jitter backoff, and resume of every joined
 * channel from the last event id seen on it — the app sees no missed and no
 * duplicated channel events across drops and server restarts (as long as the
 * server's history still reaches back; otherwise a `recovery_failed` message
 * says so).
 *
 * Sends while `connecting`/`reconnecting` are queued (at most
 * `maxQueuedMessages`, then `queue_full`) and go out after the channels are
 * re-joined; sends while `disconnected` throw `not_connected`.
 *
 * @example
 * ```ts
 * import { WSClient } from 'hubcast/client';
 *
 * const client = new WSClient('wss://example.com/realtime/ws', { getToken: () => fetchToken() });
 * client.onStateChange(({ to }) => console.log('state', to));
 * client.onMessage('event', (e) => console.log(e.channel, e.event, e.data));
 * client.onMessage('recovery_failed', ({ channel }) => refetch(channel));
 * await client.connect();
 * await client.joinChannel('products');
 * const reply = await client.sendCommand('ping');
 * client.disconnect();
 * ```
 */
export class WSClient {
  private readonly url: string;
  private readonly options: typeof DEFAULTS & WSClientOptions;
  private readonly emitter = new Emitter<Record<string, unknown>>();
  private readonly stateEmitter = new Emitter<{ change: StateChange }>();
  private readonly subs = new Subscriptions();
  /** Acknowledged channels (and the user's own channel): what was handled, what to ack. */
  private readonly acks: WsAcks;
  private readonly outbox: Outbox;
  private connectWaiters: Array<{ resolve(): void; reject(err: Error): void }> = [];
  private _state: ConnectionState = 'disconnected';
  private ws: WebSocketLike | null = null;
  /** Bumped by every attempt and by `disconnect()`: async steps of a stale attempt stop. */
  private generation = 0;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private _clientId: string | null = null;
  private _userId: string | null = null;
  private _peerId: string | null = null;
  /** The token the current attempt was made with: a refused one is not retried as is. */
  private token: string | null = null;
  /** Set by setToken(): used once by the next attempt instead of getToken/token. */
  private givenToken: string | null = null;
  /** HTTP status of a refused upgrade (401/403), when the WebSocket implementation tells it. */
  private refusedStatus: number | null = null;
  private lastRefusedAt = -Infinity;

  /**
   * @param url `ws(s)://host/realtime/ws`; an `http(s)` URL or one without a
   *   path is mapped to the gateway's WebSocket endpoint.
   */
  constructor(url: string, options: WSClientOptions = {}) {
    this.url = normalizeUrl(url);
    this.options = withDefaults(DEFAULTS, options);
    this.outbox = new Outbox(this.options);
    this.acks = new WsAcks(
      () => this.outbox.live,
      (frame) => this.write(frame),
      this.options.ackInbox,
    );
  }

  /** Current state; see {@link ConnectionState}. */
  get state(): ConnectionState {
    return this._state;
  }

  /** Server-assigned id of the current connection (`null` before the first `connected` frame). */
  get clientId(): string | null {
    return this._clientId;
  }

  get userId(): string | null {
    return this._userId;
  }

  /**
   * Where other peers send WebRTC signals to reach this connection (null
   * before `connected`, and for a token-less connection while auth is on).
   * Random, unlike `clientId`, and new on every connection: hand it to the
   * peers that should call you.
   */
  get peerId(): string | null {
    return this._peerId;
  }

  /** Channels the client holds (joined, or to be re-joined on reconnect). */
  get channels(): string[] {
    return this.subs.channels();
  }

  /** Resume position of a channel: id of the last event delivered on it. */
  lastEventId(channel: string): string | null {
    return this.subs.get(channel)?.lastId ?? null;
  }

  /**
   * Open the connection. Resolves once the server's `connected` frame
   * arrived; keeps retrying (with backoff) until then, and rejects only when
   * the client gives up (`maxReconnectAttempts`, a final close code) or
   * `disconnect()` is called.
   */
  connect(): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    const ready = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this._state === 'disconnected') {
      this.attempt = 0;
      this.outbox.hold();
      this.setState('connecting', 'connect() called');
      void this.open();
    }
    return ready;
  }

  /** Close for good: no reconnect. Pending commands and queued sends reject with `closed`. Joined channels are kept, so a later `connect()` resumes them. */
  disconnect(): void {
    if (this._state === 'disconnected') return;
    this.stop('disconnect() called', undefined, new ClientError(ClientErrorCode.closed, 'client disconnected'));
  }

  /**
   * Listen to server frames of one `type` (`event`, `text`, `json`,
   * `webrtc_signal`, `connected`, `error`, `reply`, `pong`), to `binary`
   * messages, to `recovery_failed` notices, or to everything with `'*'`.
   * Returns the unsubscribe function.
   *
   * `error` gets error frames that answer no pending command (those reject
   * the command's promise instead) and binary frames that fail to parse.
   *
   * @example
   * ```ts
   * const off = client.onMessage('text', (f) => console.log('echo', f.data));
   * off();
   * ```
   */
  onMessage<K extends keyof MessageMap>(type: K, fn: (message: MessageMap[K]) => void): () => void;
  onMessage(type: string, fn: (message: ServerFrame) => void): () => void;
  onMessage(type: string, fn: (message: never) => void): () => void {
    return this.emitter.on(type, fn as Listener<unknown>);
  }

  /** `onMessage` under the name the SSE client shares: `on(type, fn)`, undone by `off(type, fn)` or the returned function. */
  on<K extends keyof MessageMap>(type: K, fn: (message: MessageMap[K]) => void): () => void;
  on(type: string, fn: (message: ServerFrame) => void): () => void;
  on(type: string, fn: (message: never) => void): () => void {
    return this.emitter.on(type, fn as Listener<unknown>);
  }

  off(type: string, fn: (message: never) => void): void {
    this.emitter.off(type, fn as Listener<unknown>);
  }

  /**
   * Listen to state transitions; called only on a real change.
   *
   * @example
   * ```ts
   * client.onStateChange(({ from, to, closeCode }) => console.log(from, '→', to, closeCode));
   * ```
   */
  onStateChange(fn: (change: StateChange) => void): () => void {
    return this.stateEmitter.on('change', fn);
  }

  /** Send `{"type":"text","data":text}`; the server echoes it as a `text` frame. */
  sendText(text: string): void {
    this.write(JSON.stringify({ type: 'text', data: text }));
  }

  /** Send `{"type":"json","data":data}`; the server echoes it as a `json` frame. */
  sendJson(data: unknown): void {
    this.write(JSON.stringify({ type: 'json', data }));
  }

  /**
   * Send a command and await its reply's `data`. Rejects with a
   * {@link ClientError}: the server's `code` for an error frame, `timeout`,
   * `connection_lost` when the socket dropped before the reply, `closed`.
   *
   * @example
   * ```ts
   * const { pong } = await client.sendCommand<{ pong: boolean }>('ping');
   * ```
   */
  sendCommand<T = unknown>(command: string, data?: unknown): Promise<T> {
    return this.request({ type: 'command', command, ...(data === undefined ? {} : { data }) }) as Promise<T>;
  }

  /**
   * Join a channel. Resolves with the server's reply once joined (after a
   * reconnect if one is under way). The channel is re-joined, with `since`,
   * after every reconnect until `leaveChannel`.
   *
   * @example
   * ```ts
   * await client.joinChannel('product:42');
   * // at-least-once: acknowledged after the handlers, redeliveries dropped
   * client.onMessage('event', async (e) => { if (e.channel === 'orders') await save(e.data); });
   * await client.joinChannel('orders', { ack: true });
   * ```
   */
  joinChannel(channel: string, options: JoinOptions = {}): Promise<JoinReply> {
    if (this._state === 'disconnected') {
      return Promise.reject(
        new ClientError(
          ClientErrorCode.notConnected,
          `cannot join ${channel}: client is disconnected; call connect() first`,
        ),
      );
    }
    const sub = this.subs.add(channel);
    if (options.since !== undefined && sub.lastId === null) sub.lastId = options.since;
    if (options.ack === true && !sub.ack) {
      sub.ack = true;
      sub.joined = false; // joined without ack before: join again with it
      this.acks.add(channel);
    }
    if (sub.joined) return Promise.resolve({ channel });
    const done = new Promise<JoinReply>((resolve, reject) => sub.waiters.push({ resolve, reject }));
    if (this.outbox.live && !sub.inFlight) this.sendJoin(sub);
    return done;
  }

  /** Leave a channel and forget its resume position. */
  async leaveChannel(channel: string): Promise<{ channel: string }> {
    const sub = this.subs.delete(channel);
    this.acks.delete(channel);
    sub?.settle(
      null,
      new ClientError(ClientErrorCode.cancelled, `leaveChannel(${channel}) called before the join completed`),
    );
    if (!this.outbox.live || (sub !== undefined && !sub.joined && !sub.inFlight)) return { channel };
    return (await this.sendCommand('leave_channel', { channel })) as { channel: string };
  }

  /**
   * Publish to a channel the client may publish to (`channel_message`).
   * Resolves with the event's `id` and the local `delivered` count.
   */
  publish(channel: string, message: unknown): Promise<{ id: string; delivered: number }> {
    return this.request({ type: 'channel_message', channel, message }) as Promise<{ id: string; delivered: number }>;
  }

  /**
   * Send a binary message. With `header.channel` it goes to that channel's
   * WS subscribers; without, the server echoes it back.
   *
   * @example
   * ```ts
   * client.sendBinary(BinaryMessage.fromBytes(bytes, 'application/octet-stream', 'blob.bin', 'room:1'));
   * ```
   */
  sendBinary(message: BinaryMessage): void {
    this.write(message.encode());
  }

  /**
   * Relay a WebRTC signal to another peer. Resolves when the server relayed
   * it; rejects with `peer_not_found` when the peer is not connected.
   *
   * @example
   * ```ts
   * await client.sendWebRTCSignal({ signal_type: 'offer', target_peer_id: peer, sdp: offer.sdp });
   * client.onMessage('webrtc_signal', (s) => handleSignal(s.from_peer_id, s));
   * ```
   */
  async sendWebRTCSignal(signal: WebRTCSignal): Promise<void> {
    await this.request({ type: 'webrtc_signal', ...signal });
  }

  // ---- connection lifecycle ----------------------------------------------

  private setState(to: ConnectionState, reason?: string, closeCode?: number): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    const change: StateChange = { from, to };
    if (reason !== undefined) change.reason = reason;
    if (closeCode !== undefined) change.closeCode = closeCode;
    this.stateEmitter.emit('change', change);
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    let Ctor: WebSocketConstructor;
    try {
      Ctor = this.options.WebSocket ?? (await loadWebSocket());
    } catch (err) {
      if (generation === this.generation) this.stop((err as Error).message, undefined, err as Error);
      return;
    }
    let token: string | null | undefined;
    try {
      token = this.givenToken ?? (this.options.getToken ? await this.options.getToken() : this.options.token);
    } catch (err) {
      if (generation === this.generation) this.dropped(LOCAL_FAILURE, `getToken failed: ${(err as Error).message}`);
      return;
    }
    if (generation !== this.generation) return;
    this.givenToken = null;
    this.token = token ?? null;
    this.refusedStatus = null;

    const url = new URL(this.url);
    const protocols: string[] = [];
    if (token) {
      if (this.options.tokenTransport === 'query') url.searchParams.set('token', token);
      else protocols.push(`bearer.${token}`);
    }
    let ws: WebSocketLike;
    try {
      ws = new Ctor(url.toString(), protocols);
    } catch (err) {
      // A malformed URL: retrying cannot help.
      this.stop(`cannot open ${this.url}: ${(err as Error).message}`, undefined, err as Error);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (e: { data: unknown }) => {
      if (this.ws === ws) this.receive(e.data);
    };
    ws.onclose = (e: { code?: number; reason?: string }) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.dropped(e.code ?? 1006, e.reason || `closed with ${e.code ?? 1006}`);
    };
    ws.onerror = (e: { message?: unknown; error?: { message?: unknown } } | undefined) => {
      // Always followed by a close event, which decides what happens next. The `ws`
      // package names the status of a refused upgrade; a browser does not.
      const m = /Unexpected server response: (\d{3})/.exec(String(e?.message ?? e?.error?.message ?? ''));
      if (m !== null && this.ws === ws) this.refusedStatus = Number(m[1]);
    };
    this.connectTimer = unrefTimer(() => {
      if (this.ws !== ws) return;
      this.ws = null;
      ws.close();
      this.dropped(LOCAL_FAILURE, `no connected frame within ${this.options.connectTimeout} ms`);
    }, this.options.connectTimeout);
  }

  /** The `connected` frame: the connection is usable. Re-join, flush, then announce. */
  private welcome(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.attempt = 0;
    this.outbox.open(this.ws!);
    // Joins first, queued sends next, and only then the state change, so
    // sends made by state listeners line up after both.
    for (const sub of this.subs.values()) this.sendJoin(sub);
    this.outbox.flush();
    this.setState('connected', 'connected');
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** The socket is gone (or the attempt failed): reconnect or stop. */
  private dropped(code: number, reason: string): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.subs.resetConnection();
    this.outbox.suspend(code);
    if (this._state === 'disconnected') return;
    const final =
      FINAL_CLOSE_CODES.has(code) || (code === CloseCode.tokenExpired && this.options.getToken === undefined);
    if (final) {
      this.stop(
        `closed with ${code}: ${reason}`,
        code,
        new ClientError(ClientErrorCode.closed, `connection closed with ${code}: ${reason}`),
      );
      return;
    }
    if (this.attempt >= this.options.maxReconnectAttempts) {
      this.stop(
        `gave up after ${this.attempt} attempts`,
        code,
        new ClientError(
          ClientErrorCode.closed,
          `gave up reconnecting after ${this.attempt} attempts (last close ${code}: ${reason})`,
        ),
      );
      return;
    }
    if (this.refusedStatus === 401 || this.refusedStatus === 403) return this.refused(this.refusedStatus);
    const delay = backoffDelay(this.attempt++, this.options.minReconnectDelay, this.options.maxReconnectDelay);
    this.setState('reconnecting', reason, code);
    // Not unref'd: a pending reconnect is work the app asked for; disconnect() clears it.
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
    }, delay);
  }

  /**
   * Hand the client a new token (after a login, a refresh): used by the next
   * attempt; a client that is `unauthorized` or `forbidden` reconnects at once.
   */
  setToken(token: string): void {
    this.givenToken = token;
    if ((this._state === 'unauthorized' || this._state === 'forbidden') && this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      void this.open();
    }
  }

  /** The upgrade was refused 401/403. A new token reconnects now; otherwise wait the backoff cap. */
  private refused(status: number): void {
    // A refusal spends an attempt like a drop does: maxReconnectAttempts bounds both.
    if (this.attempt >= this.options.maxReconnectAttempts) {
      this.stop(
        `gave up after ${this.attempt} attempts: refused ${status}`,
        1006,
        new ClientError(
          ClientErrorCode.closed,
          `gave up reconnecting after ${this.attempt} attempts: the server refused the connection (${status})`,
        ),
      );
      return;
    }
    this.attempt++;
    const refusedToken = this.token;
    const generation = this.generation;
    // A getToken that hands out a new but still refused token each time must not make a loop.
    const now = Date.now();
    const again = now - this.lastRefusedAt < this.options.maxReconnectDelay;
    this.lastRefusedAt = now;
    this.setState(
      status === 401 ? 'unauthorized' : 'forbidden',
      status === 401
        ? 'the server refused the token (401): no token, a bad or an expired one'
        : 'the token does not allow this connection (403)',
      1006,
    );
    const wait = () => {
      if (generation !== this.generation) return;
      // Not unref'd, like any reconnect: disconnect() clears it.
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        void this.open();
      }, this.options.maxReconnectDelay);
    };
    afterRefusal(
      this.options.getToken,
      refusedToken,
      again,
      () => generation !== this.generation,
      (token) => {
        this.givenToken = token;
        void this.open();
      },
      wait,
    );
  }

  /** Enter `disconnected`: release the socket and timers, fail what waits. */
  private stop(reason: string, closeCode: number | undefined, error: Error): void {
    this.generation++;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.reconnectTimer = this.connectTimer = null;
    this.acks.reset();
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) ws.close(CloseCode.normal, 'client disconnect');
    this.subs.resetConnection();
    for (const sub of this.subs.values()) sub.settle(null, error);
    this.outbox.close(error);
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    this.setState('disconnected', reason, closeCode);
    for (const w of waiters) w.reject(error);
  }

  // ---- sending ---------------------------------------------------------------

  private write(payload: string | Uint8Array): void {
    this.outbox.write(payload);
  }

  private request(frame: Record<string, unknown>): Promise<unknown> {
    return this.outbox.request(frame);
  }

  private sendJoin(sub: Subscription): void {
    sub.inFlight = true;
    const data: { channel: string; since?: string; ack?: true } = { channel: sub.channel };
    if (sub.lastId !== null) data.since = sub.lastId;
    if (sub.ack) data.ack = true;
    this.request({ type: 'command', command: 'join_channel', data }).then(
      (reply) => {
        if (this.subs.get(sub.channel) !== sub) return; // left meanwhile
        sub.inFlight = false;
        sub.joined = true;
        // A channel with no event seen yet resumes from the position the server gave.
        const lastId = (reply as { last_id?: unknown } | undefined)?.last_id;
        if (sub.lastId === null && typeof lastId === 'string' && /^\d+$/.test(lastId)) sub.lastId = lastId;
        sub.settle((reply as JoinReply | undefined) ?? { channel: sub.channel });
      },
      (err: ClientError) => {
        // The next connection re-joins; its reply settles the waiters.
        if (err.code === ClientErrorCode.connectionLost || err.code === ClientErrorCode.closed) return;
        sub.inFlight = false;
        if (this.subs.get(sub.channel) === sub) this.subs.delete(sub.channel);
        sub.settle(null, err);
      },
    );
  }

  // ---- acknowledged delivery -------------------------------------------------

  /** An event of an acknowledged channel: to the handlers once, acknowledged after them. */
  private acknowledged(state: AckState, frame: EventFrame): void {
    const id = Number(frame.id);
    if (!state.arrived(id)) return;
    this.subs.accept(state.channel, frame.id as string);
    const { results, threw } = this.emitter.emitCollect('event', frame);
    this.emitter.emit('*', frame);
    if (threw) state.failed(id);
    else state.handled(id, results);
  }

  // ---- receiving ------------------------------------------------------------

  private receive(data: unknown): void {
    if (typeof data === 'string') {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(data);
      } catch (err) {
        this.emitter.emit('error', {
          type: 'error',
          code: 'invalid_json',
          message: `server sent a frame that is not JSON: ${(err as Error).message}`,
        });
        return;
      }
      this.handleFrame(frame);
      return;
    }
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      this.handleBinary(data as ArrayBuffer | ArrayBufferView);
      return;
    }
    const blob = data as { arrayBuffer?: () => Promise<ArrayBuffer> };
    if (typeof blob?.arrayBuffer === 'function') {
      // Only when an implementation ignored binaryType = 'arraybuffer'.
      void blob.arrayBuffer().then((buf) => this.handleBinary(buf));
    }
  }

  private handleBinary(data: ArrayBuffer | ArrayBufferView): void {
    let message: BinaryMessage;
    try {
      message = BinaryMessage.decode(data);
    } catch (err) {
      const e = err as ClientError;
      this.emitter.emit('error', { type: 'error', code: e.code, message: e.message });
      return;
    }
    this.emitter.emit('binary', message);
    this.emitter.emit('*', message);
  }

  private handleFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'connected':
        this._clientId = (frame.client_id as string) ?? null;
        this._userId = (frame.user_id as string | null) ?? null;
        this._peerId = (frame.peer_id as string | undefined) ?? null;
        this.emitter.emit('connected', frame);
        this.emitter.emit('*', frame);
        if (this._state !== 'connected' && this._state !== 'disconnected') this.welcome();
        return;
      case 'event': {
        const channel = frame.channel as string;
        const data = frame.data as { type?: unknown; reason?: unknown } | null;
        if (
          frame.event === 'system' &&
          frame.id === null &&
          data !== null &&
          typeof data === 'object' &&
          data.type === 'recovery_failed'
        ) {
          const notice: MessageMap['recovery_failed'] = { type: 'recovery_failed', channel };
          if (typeof data.reason === 'string') notice.reason = data.reason;
          this.emitter.emit('recovery_failed', notice);
          this.emitter.emit('*', frame);
          return;
        }
        const acking = typeof frame.id === 'string' ? this.acks.stateFor(channel, this._userId) : null;
        if (acking !== null) return this.acknowledged(acking, frame as EventFrame);
        if (!this.subs.accept(channel, frame.id as string | null)) return; // replayed twice
        break;
      }
      case 'reply':
      case 'error': {
        if (this.outbox.settle(frame as ReplyFrame | ErrorFrame)) return;
        break;
      }
    }
    this.emitter.emit(frame.type, frame);
    this.emitter.emit('*', frame);
  }
}

function normalizeUrl(raw: string): string {
  const url = new URL(raw);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = WS_PATH;
  return url.toString();
}
