import { SystemType } from './wire/codes.js';
import { backoffDelay, RECONNECT_DEFAULTS } from './backoff.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { loadEventSource } from './load.js';
import { withDefaults } from './merge.js';
import type {
  ConnectionState,
  EventSourceConstructor,
  EventSourceLike,
  SSEClientOptions,
  SSEEvent,
  StateChange,
} from './types.js';
import { Refusals, statusOf } from './refusal.js';

import { SSE_PATH } from './wire/paths.js';
export { SSE_PATH };

const DEFAULTS = { ...RECONNECT_DEFAULTS, dedupWindow: 1024 };

/** `EventSource.readyState` values. */
const CONNECTING = 0;
const CLOSED = 2;

/**
 * hubcast Server-Sent Events client. Built on `EventSource`, whose own
 * reconnect (with `Last-Event-ID`) covers dropped streams; when it gives up
 * (the server answered an error while restarting, e.g. 503), the stream is
 * re-created after a full-jitter backoff with `?last_event_id=` set to the
 * last id seen. Events are de-duplicated by id, so overlapping replays never
 * reach the app twice.
 *
 * Create one with {@link createSSEClient}.
 */
export class SSEClient {
  private readonly url: string;
  private readonly options: typeof DEFAULTS & SSEClientOptions;
  private readonly emitter = new Emitter<Record<string, SSEEvent>>();
  private readonly stateEmitter = new Emitter<{ change: StateChange }>();
  private _state: ConnectionState = 'connecting';
  private es: EventSourceLike | null = null;
  /** Event names the app listens to, attached to every EventSource created. */
  private readonly registeredNames = new Set<string>();
  /** Event names with a listener on the current EventSource. */
  private attached = new Set<string>();
  private _lastEventId: string | null;
  private _clientId: string | null = null;
  /** Recently delivered ids (insertion-ordered, bounded): the de-duplication window. */
  private readonly seen = new Set<string>();
  private generation = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** The token the current stream was opened with: a refused one is not retried as is. */
  private token: string | null = null;
  /** Set by setToken(): used once by the next attempt instead of getToken/token. */
  private givenToken: string | null = null;
  private readonly refusals: Refusals;
  private readyWaiter!: { resolve(): void; reject(err: Error): void };
  /** `ready`, or the promise of the last `connect()` after a `disconnect()`. */
  private latestReady: Promise<void>;

  /**
   * Resolves when the stream is first open (the server's `connected` system
   * event arrived); rejects if the client is closed or gives up before.
   */
  readonly ready: Promise<void>;

  constructor(url: string, options: SSEClientOptions = {}) {
    this.options = withDefaults(DEFAULTS, options);
    this.url = normalizeUrl(url, this.options.channels);
    this._lastEventId = this.options.lastEventId ?? null;
    this.refusals = new Refusals(this.options);
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyWaiter = { resolve, reject };
    });
    // Awaiting `ready` is optional: an unobserved rejection must not crash the host.
    this.ready.catch(() => undefined);
    this.latestReady = this.ready;
    void this.open();
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** Id of the last channel event delivered: where a re-created stream resumes. */
  get lastEventId(): string | null {
    return this._lastEventId;
  }

  get clientId(): string | null {
    return this._clientId;
  }

  /**
   * Listen to events named `name` (the SSE `event:` field, `message` for
   * unnamed ones, `system` for the server's notices), or to the SDK's
   * `recovery_failed` notice. Returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const off = sse.onEvent('product.updated', (e) => render(e.data));
   * sse.onEvent('recovery_failed', () => refetchAll());
   * ```
   */
  onEvent<T = unknown>(name: string, fn: (event: SSEEvent<T>) => void): () => void {
    const off = this.emitter.on(name, fn as Listener<SSEEvent>);
    this.registeredNames.add(name);
    if (this.es !== null) this.attach(this.es, name);
    return off;
  }

  /** `onEvent` under the name the WS client shares. */
  on<T = unknown>(name: string, fn: (event: SSEEvent<T>) => void): () => void {
    return this.onEvent(name, fn);
  }

  /** Stop calling `fn` for `name`. */
  off<T = unknown>(name: string, fn: (event: SSEEvent<T>) => void): void {
    this.emitter.off(name, fn as Listener<SSEEvent>);
  }

  onStateChange(fn: (change: StateChange) => void): () => void {
    return this.stateEmitter.on('change', fn);
  }

  /**
   * The stream opens on creation; `connect()` resolves when it is open (as
   * `ready` does), and after `disconnect()` opens it again, resuming from
   * the last event id seen. Same shape as `WSClient.connect()`.
   */
  connect(): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    if (this._state !== 'disconnected') return this.latestReady;
    const ready = new Promise<void>((resolve, reject) => {
      this.readyWaiter = { resolve, reject };
    });
    // As in the constructor: awaiting `ready` is optional, an unobserved rejection must not crash the host.
    ready.catch(() => undefined);
    this.latestReady = ready;
    this.attempt = 0;
    this.setState('connecting', 'connect() called');
    void this.open();
    return ready;
  }

  /** Close the stream; `connect()` opens it again. Same as `close()`, the WS client's name. */
  disconnect(): void {
    this.close();
  }

  /** Close the stream for good. */
  close(): void {
    if (this._state === 'disconnected') return;
    this.shutdown('close() called', new ClientError(ClientErrorCode.closed, 'SSE client closed'));
  }

  private setState(to: ConnectionState, reason?: string): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.stateEmitter.emit('change', reason === undefined ? { from, to } : { from, to, reason });
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    let Ctor: EventSourceConstructor;
    let token: string | null | undefined;
    try {
      Ctor = this.options.EventSource ?? (await loadEventSource());
    } catch (err) {
      if (generation === this.generation) this.shutdown((err as Error).message, err as Error);
      return;
    }
    try {
      token = this.givenToken ?? (this.options.getToken ? await this.options.getToken() : this.options.token);
    } catch (err) {
      if (generation === this.generation) this.retry(`getToken failed: ${(err as Error).message}`);
      return;
    }
    if (generation !== this.generation) return;
    this.givenToken = null;
    this.token = token ?? null;
    const url = new URL(this.url);
    if (token) url.searchParams.set('token', token);
    if (this._lastEventId !== null) url.searchParams.set('last_event_id', this._lastEventId);
    let es: EventSourceLike;
    try {
      es = new Ctor(url.toString(), this.options.withCredentials ? { withCredentials: true } : undefined);
    } catch (err) {
      this.shutdown(`cannot open ${this.url}: ${(err as Error).message}`, err as Error);
      return;
    }
    this.es = es;
    this.attached = new Set();
    es.addEventListener('system', (e: MessageEvent) => {
      if (this.es === es) this.system(e);
    });
    for (const name of this.listenedNames()) this.attach(es, name);
    es.onerror = (e: { code?: unknown; message?: unknown } | undefined) => {
      if (this.es !== es) return;
      if (es.readyState === CLOSED) {
        // The native reconnect gave up (an HTTP error, a wrong content type).
        this.es = null;
        es.close();
        void this.failed(generation, url.toString(), typeof e?.code === 'number' ? e.code : undefined);
      } else if (es.readyState === CONNECTING) {
        this.setState('reconnecting', 'stream dropped; EventSource reconnects');
      }
    };
  }

  /**
   * Hand the client a new token (after a login, a refresh): used by the next
   * attempt; a client that is `unauthorized` or `forbidden` reconnects at once.
   */
  setToken(token: string): void {
    this.givenToken = token;
    if ((this._state === 'unauthorized' || this._state === 'forbidden') && this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      void this.open();
    }
  }

  /**
   * The stream failed for good. The `eventsource` package tells the HTTP status;
   * a browser's EventSource does not, so one GET of the same URL asks (failures only).
   */
  private async failed(generation: number, url: string, status: number | undefined): Promise<void> {
    // Unreachable (undefined): an outage, retried as such.
    status ??= await statusOf(url, {
      headers: { accept: 'text/event-stream' },
      credentials: this.options.withCredentials ? 'include' : 'same-origin',
    });
    if (generation !== this.generation) return;
    if (status === 401 || status === 403) this.refused(status);
    else
      this.retry(
        status === undefined
          ? 'stream failed and was not retried by EventSource'
          : `stream refused with HTTP ${status}`,
      );
  }

  /** 401/403: a refusal. A new token reconnects now; otherwise wait the backoff cap. */
  private refused(status: 401 | 403): void {
    // A refusal spends an attempt like a drop does: maxReconnectAttempts bounds both.
    if (this.attempt >= this.options.maxReconnectAttempts) {
      this.shutdown(
        `gave up after ${this.attempt} attempts: refused ${status}`,
        new ClientError(
          ClientErrorCode.closed,
          `gave up reconnecting after ${this.attempt} attempts: the server refused the stream (${status})`,
        ),
      );
      return;
    }
    this.attempt++;
    const generation = ++this.generation;
    this.setState(...Refusals.enter(status, 'these channels'));
    this.refusals.answer(
      this.token,
      () => generation !== this.generation,
      (token) => {
        this.givenToken = token;
        void this.open();
      },
      () => {
        if (generation !== this.generation) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          void this.open();
        }, this.options.maxReconnectDelay);
      },
    );
  }

  private retry(reason: string): void {
    if (this.attempt >= this.options.maxReconnectAttempts) {
      this.shutdown(
        `gave up after ${this.attempt} attempts: ${reason}`,
        new ClientError(ClientErrorCode.closed, `gave up reconnecting after ${this.attempt} attempts: ${reason}`),
      );
      return;
    }
    const delay = backoffDelay(this.attempt++, this.options.minReconnectDelay, this.options.maxReconnectDelay);
    this.setState('reconnecting', reason);
    // Not unref'd: a pending reconnect is work the app asked for; close() clears it.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.open();
    }, delay);
  }

  private shutdown(reason: string, error: Error): void {
    this.generation++;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const es = this.es;
    this.es = null;
    es?.close();
    this.setState('disconnected', reason);
    this.readyWaiter.reject(error);
  }

  private listenedNames(): string[] {
    const names: string[] = [];
    for (const name of this.registeredNames) if (name !== 'system' && name !== 'recovery_failed') names.push(name);
    return names;
  }

  private attach(es: EventSourceLike, name: string): void {
    if (name === 'system' || name === 'recovery_failed' || this.attached.has(name)) return;
    this.attached.add(name);
    es.addEventListener(name, (e: MessageEvent) => {
      if (this.es === es) this.deliver(name, e);
    });
  }

  private system(e: MessageEvent, payload?: unknown): void {
    const raw = String(e.data);
    const data = (payload === undefined ? parseData(raw) : payload) as {
      type?: string;
      client_id?: string;
      channels?: string[];
    };
    if (data !== null && typeof data === 'object') {
      if (data.type === SystemType.connected) {
        this._clientId = data.client_id ?? null;
        // The welcome carries the resume position: a stream that has seen no
        // event yet still resumes from here after a reconnect.
        if (this._lastEventId === null && e.lastEventId) this._lastEventId = String(e.lastEventId);
        this.attempt = 0;
        this.setState('connected', 'connected');
        this.readyWaiter.resolve();
      } else if (data.type === SystemType.recoveryFailed) {
        this.emitter.emit('recovery_failed', { event: 'recovery_failed', id: null, data, raw } satisfies SSEEvent);
      } else if (data.type === SystemType.tokenExpired) {
        // The server ends the stream; the native reconnect would reuse the
        // expired token. Reopen now with a fresh one (getToken) from where we are.
        const es = this.es;
        this.es = null;
        es?.close();
        this.setState('reconnecting', 'token expired');
        void this.open();
      }
    }
    this.emitter.emit('system', { event: 'system', id: null, data, raw } satisfies SSEEvent);
  }

  private deliver(name: string, e: MessageEvent): void {
    if (name === 'message') {
      // A `format=message` stream sends its system notices unnamed too: {"event":"system","channel":null,"data":{…}}.
      const wrapped = parseData(String(e.data)) as { event?: unknown; channel?: unknown; data?: unknown } | null;
      if (wrapped !== null && typeof wrapped === 'object' && wrapped.event === 'system' && wrapped.channel === null)
        return this.system(e, wrapped.data);
    }
    const id = e.lastEventId ? String(e.lastEventId) : null;
    if (id !== null) {
      if (this.seen.has(id)) return; // replayed by a resume that overlapped what we had
      this.seen.add(id);
      if (this.seen.size > this.options.dedupWindow) this.seen.delete(this.seen.values().next().value as string);
      this._lastEventId = id;
    }
    const raw = String(e.data);
    this.emitter.emit(name, { event: name, id, data: parseData(raw), raw } satisfies SSEEvent);
  }
}

/**
 * Open an SSE stream on a hubcast gateway.
 *
 * @param url the gateway (`https://example.com`) or its stream URL
 *   (`https://example.com/realtime/events?channels=a,b`).
 *
 * @example
 * ```ts
 * import { createSSEClient } from 'hubcast/client';
 *
 * const sse = createSSEClient('https://example.com', { channels: ['products'] });
 * sse.onEvent('product.updated', (e) => console.log(e.id, e.data));
 * sse.onEvent('recovery_failed', () => reloadCatalog());
 * await sse.ready;
 * // later
 * sse.close();
 * ```
 */
export function createSSEClient(url: string, options: SSEClientOptions = {}): SSEClient {
  return new SSEClient(url, options);
}

/** JSON when it parses, else the raw text (the server sends a published string as is). */
function parseData(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // not JSON: a string payload, delivered as text by design
  }
}

function normalizeUrl(raw: string, channels: string[] | undefined): string {
  const url = new URL(raw);
  if (url.pathname === '/' || url.pathname === '') url.pathname = SSE_PATH;
  if (channels !== undefined && channels.length > 0) url.searchParams.set('channels', channels.join(','));
  return url.toString();
}
