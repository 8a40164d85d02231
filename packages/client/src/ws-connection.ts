import { CloseCode } from './wire/codes.js';
import { WS_PATH } from './wire/paths.js';
import { backoffDelay } from './backoff.js';
import { Emitter } from './emitter.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { loadWebSocket, unrefTimer } from './load.js';
import type { Outbox } from './outbox.js';
import { Refusals, statusOf } from './refusal.js';
import type { Subscriptions } from './subscriptions.js';
import type { WsAcks } from './ws-acks.js';
import type {
  ConnectionState,
  ReconnectOptions,
  StateChange,
  WebSocketConstructor,
  WebSocketLike,
  WSClientOptions,
} from './types.js';

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
 * The WS client's state machine: one socket at a time, each attempt with a
 * fresh token and a deadline for the `connected` frame, reconnect with
 * full-jitter backoff after a drop, a wait (or a new token) after a refused
 * upgrade, and `disconnected` when it gives up or is told to stop. The parts
 * whose life follows the connection are driven from here: the outbox queues,
 * opens and fails with it, the channels are re-joined on every `connected`
 * frame, the acks stop with it (and the receiver reaches them through it).
 *
 * @internal
 */
export class WsConnection {
  readonly changes = new Emitter<{ change: StateChange }>();
  private readonly url: string;
  private _state: ConnectionState = 'disconnected';
  private waiters: Array<{ resolve(): void; reject(err: Error): void }> = [];
  private ws: WebSocketLike | null = null;
  /** Bumped by every attempt and by `disconnect()`: async steps of a stale attempt stop. */
  private generation = 0;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  /** The token the current attempt was made with: a refused one is not retried as is. */
  private token: string | null = null;
  /** Set by setToken(): used once by the next attempt instead of getToken/token. */
  private givenToken: string | null = null;
  /** HTTP status of a refused upgrade (401/403), when the WebSocket implementation tells it. */
  private refusedStatus: number | null = null;
  private readonly refusals: Refusals;

  constructor(
    url: string,
    private readonly options: WSClientOptions & Required<ReconnectOptions> & { connectTimeout: number },
    readonly outbox: Outbox,
    readonly subs: Subscriptions,
    readonly acks: WsAcks,
    /** Every message of the current socket. */
    private readonly receive: (data: unknown) => void,
  ) {
    this.url = normalizeUrl(url);
    this.refusals = new Refusals(options);
  }

  get state(): ConnectionState {
    return this._state;
  }

  connect(): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    const ready = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this._state === 'disconnected') {
      this.attempt = 0;
      this.outbox.hold();
      this.setState('connecting', 'connect() called');
      void this.open();
    }
    return ready;
  }

  disconnect(): void {
    if (this._state === 'disconnected') return;
    this.stop('disconnect() called', undefined, new ClientError(ClientErrorCode.closed, 'client disconnected'));
  }

  setToken(token: string): void {
    this.givenToken = token;
    if ((this._state === 'unauthorized' || this._state === 'forbidden') && this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      void this.open();
    }
  }

  /** The `connected` frame: the connection is usable. Re-join, flush, then announce. */
  welcome(): void {
    if (this._state === 'connected' || this._state === 'disconnected') return;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.attempt = 0;
    this.outbox.open(this.ws!);
    // Joins first, queued sends next, and only then the state change, so
    // sends made by state listeners line up after both.
    for (const sub of this.subs.values()) this.subs.join(sub, this.outbox);
    this.outbox.flush();
    this.setState('connected', 'connected');
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }

  private setState(to: ConnectionState, reason?: string, closeCode?: number): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    const change: StateChange = { from, to };
    if (reason !== undefined) change.reason = reason;
    if (closeCode !== undefined) change.closeCode = closeCode;
    this.changes.emit('change', change);
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
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (e: { data: unknown }) => {
      if (this.ws === ws) this.receive(e.data);
    };
    ws.onclose = (e: { code?: number; reason?: string }) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const code = e.code ?? 1006;
      const reason = e.reason || `closed with ${code}`;
      // A handshake that failed without a status (a browser's WebSocket never tells one): one
      // plain GET of the same URL says whether the server refused the token.
      if (opened || this.refusedStatus !== null) return this.dropped(code, reason);
      void this.askWhy(generation, url, token ?? null).then(() => {
        if (generation === this.generation) this.dropped(code, reason);
      });
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

  /** The status a plain GET of the WebSocket URL answers: a 401 or 403 is a refusal (see `dropped`). */
  private async askWhy(generation: number, url: URL, token: string | null): Promise<void> {
    const http = new URL(url);
    http.protocol = http.protocol === 'wss:' ? 'https:' : 'http:';
    const status = await statusOf(http.toString(), {
      headers: token !== null && !http.searchParams.has('token') ? { authorization: `Bearer ${token}` } : {},
    });
    if (generation === this.generation && (status === 401 || status === 403)) this.refusedStatus = status;
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
    this.reopen(delay);
  }

  /** The next attempt, in `ms`. Not unref'd: a pending reconnect is work the app asked for; disconnect() clears it. */
  private reopen(ms: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
    }, ms);
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
    const generation = this.generation;
    const [state, reason] = Refusals.enter(status, 'this connection');
    this.setState(state, reason, 1006);
    this.refusals.answer(
      this.token,
      () => generation !== this.generation,
      (token) => {
        this.givenToken = token;
        void this.open();
      },
      () => {
        if (generation === this.generation) this.reopen(this.options.maxReconnectDelay);
      },
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
    const waiters = this.waiters;
    this.waiters = [];
    this.setState('disconnected', reason, closeCode);
    for (const w of waiters) w.reject(error);
  }
}

/** An `http(s)` URL, or one without a path, names the gateway's WebSocket endpoint. */
function normalizeUrl(raw: string): string {
  const url = new URL(raw);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = WS_PATH;
  return url.toString();
}
