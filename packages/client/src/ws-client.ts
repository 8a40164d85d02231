import { RECONNECT_DEFAULTS } from './backoff.js';
import type { BinaryMessage } from './binary-message.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { Outbox } from './outbox.js';
import { withDefaults } from './merge.js';
import { Subscriptions, type JoinOptions, type JoinReply } from './subscriptions.js';
import { WsAcks } from './ws-acks.js';
import { WsConnection } from './ws-connection.js';
import { WsReceiver } from './ws-receive.js';
import type { ConnectionState, MessageMap, ServerFrame, StateChange, WebRTCSignal, WSClientOptions } from './types.js';

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
  private readonly emitter = new Emitter<Record<string, unknown>>();
  private readonly subs = new Subscriptions();
  /** Acknowledged channels (and the user's own channel): what was handled, what to ack. */
  private readonly acks: WsAcks;
  private readonly outbox: Outbox;
  private readonly conn: WsConnection;
  private readonly rx: WsReceiver;

  /**
   * @param url `ws(s)://host/realtime/ws`; an `http(s)` URL or one without a
   *   path is mapped to the gateway's WebSocket endpoint.
   */
  constructor(url: string, options: WSClientOptions = {}) {
    const o = withDefaults(DEFAULTS, options);
    this.outbox = new Outbox(o);
    this.acks = new WsAcks(
      () => this.outbox.live,
      (frame) => this.outbox.write(frame),
      o.ackInbox,
    );
    this.conn = new WsConnection(url, o, this.outbox, this.subs, this.acks, (data) => this.rx.receive(data));
    this.rx = new WsReceiver(this.conn, this.emitter);
  }

  /** Current state; see {@link ConnectionState}. */
  get state(): ConnectionState {
    return this.conn.state;
  }

  /** Server-assigned id of the current connection (`null` before the first `connected` frame). */
  get clientId(): string | null {
    return this.rx.clientId;
  }

  get userId(): string | null {
    return this.rx.userId;
  }

  /**
   * Where other peers send WebRTC signals to reach this connection (null
   * before `connected`, and for a token-less connection while auth is on).
   * Random, unlike `clientId`, and new on every connection: hand it to the
   * peers that should call you.
   */
  get peerId(): string | null {
    return this.rx.peerId;
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
    return this.conn.connect();
  }

  /** Close for good: no reconnect. Pending commands and queued sends reject with `closed`. Joined channels are kept, so a later `connect()` resumes them. */
  disconnect(): void {
    this.conn.disconnect();
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
    return this.conn.changes.on('change', fn);
  }

  /** Send `{"type":"text","data":text}`; the server echoes it as a `text` frame. */
  sendText(text: string): void {
    this.outbox.write(JSON.stringify({ type: 'text', data: text }));
  }

  /** Send `{"type":"json","data":data}`; the server echoes it as a `json` frame. */
  sendJson(data: unknown): void {
    this.outbox.write(JSON.stringify({ type: 'json', data }));
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
    return this.outbox.request({ type: 'command', command, ...(data === undefined ? {} : { data }) }) as Promise<T>;
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
    if (this.conn.state === 'disconnected') {
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
    if (this.outbox.live && !sub.inFlight) this.subs.join(sub, this.outbox);
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
    const frame = { type: 'channel_message', channel, message };
    return this.outbox.request(frame) as Promise<{ id: string; delivered: number }>;
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
    this.outbox.write(message.encode());
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
    await this.outbox.request({ type: 'webrtc_signal', ...signal });
  }

  /**
   * Hand the client a new token (after a login, a refresh): used by the next
   * attempt; a client that is `unauthorized` or `forbidden` reconnects at once.
   */
  setToken(token: string): void {
    this.conn.setToken(token);
  }
}
