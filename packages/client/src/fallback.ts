import { backoffDelay, RECONNECT_DEFAULTS } from './backoff.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError, ClientErrorCode, isRefusal } from './errors.js';
import { type Driver, type DriverOptions, sseDriver, wsDriver } from './fallback-drivers.js';
import { withDefaults } from './merge.js';
import { PollClient, httpPublish, pollUrl, type TransportSink } from './poll-client.js';
import { Refusals } from './refusal.js';
import type {
  ConnectionState,
  EventFrame,
  EventSourceConstructor,
  ReconnectOptions,
  StateChange,
  TokenSource,
  WebSocketConstructor,
} from './types.js';
import { ErrorCode } from './wire/codes.js';

export type TransportName = 'websocket' | 'sse' | 'poll';

/** Where the transport that worked is kept between sessions (`localStorage` fits). */
export interface TransportMemory {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface FallbackClientOptions extends ReconnectOptions {
  /** Channels to read (and resume) on every transport. */
  channels: string[];
  /** Transports to try, in order. Default `['websocket', 'sse', 'poll']`. */
  transports?: TransportName[];
  token?: string;
  getToken?: TokenSource;
  WebSocket?: WebSocketConstructor;
  EventSource?: EventSourceConstructor;
  fetch?: typeof fetch;
  /** Resume after this event id on the first connect. */
  lastEventId?: string;
  /** Time a transport has to go live before the next one is tried. Default 5000. */
  connectTimeout?: number;
  /** Reconnects a transport in use makes by itself before the client moves on to the next. Default 2. */
  attemptsPerTransport?: number;
  /** Seconds a long poll is held (`timeout=`). Default 25. */
  pollTimeout?: number;
  /** Default: `globalThis.localStorage` when there is one, else memory for this process. */
  memory?: TransportMemory | null;
  /** Ids remembered for de-duplication across transport changes. Default 1024. */
  dedupWindow?: number;
}

const DEFAULTS = {
  ...RECONNECT_DEFAULTS,
  transports: ['websocket', 'sse', 'poll'] as TransportName[],
  connectTimeout: 5000,
  attemptsPerTransport: 2,
  pollTimeout: 25,
  dedupWindow: 1024,
};

const processMemory = new Map<string, string>();
const MEMORY_IN_PROCESS: TransportMemory = {
  getItem: (k) => processMemory.get(k) ?? null,
  setItem: (k, v) => void processMemory.set(k, v),
};

/**
 * One subscription over whichever transport gets through: WebSocket, then
 * SSE (sending by `POST /realtime/poll`), then long polling. The transport
 * that worked is remembered (per gateway origin) and tried first next time.
 * When the transport in use is lost — its own reconnects gave up — the
 * client goes down the list again and resumes on the next one from the last
 * event id delivered, so a transport change loses nothing; events replayed
 * twice across the change are dropped by id.
 *
 * ```
 * disconnected ─connect()─▶ connecting ─a transport is live─▶ connected
 *                              ▲  │ none is                      │ the one in use is lost
 *                              │  ▼                              ▼
 *                            reconnecting (backoff) ◀────────────┘
 * ```
 *
 * A refusal is not an outage: a `401` (no token, a bad or an expired one) or a `403` (channels
 * the token does not allow) on any transport puts the client in `unauthorized` / `forbidden`
 * without trying the others, which would be refused alike. As the WebSocket and SSE clients do,
 * it then asks `getToken` once and starts again at once with a token other than the refused one,
 * or when `setToken()` hands it one; otherwise it waits `maxReconnectDelay`. `connect()` stays
 * pending meanwhile; a refusal spends one of `maxReconnectAttempts`.
 *
 * @example
 * ```ts
 * import { createClient } from 'hubcast/client';
 * const client = createClient('https://example.com', { channels: ['chat:room1'] });
 * client.on('event', (e) => console.log(client.transport, e.channel, e.event, e.data));
 * await client.connect();
 * await client.publish('chat:room1', { text: 'hi' });
 * ```
 */
export class FallbackClient {
  private readonly options: typeof DEFAULTS & FallbackClientOptions;
  private readonly emitter = new Emitter<{
    event: EventFrame;
    recovery_failed: { channel: string; reason?: string };
    transport: TransportName;
  }>();
  private readonly stateEmitter = new Emitter<{ change: StateChange }>();
  private readonly memory: TransportMemory;
  private readonly memoryKey: string;
  private _state: ConnectionState = 'disconnected';
  private _transport: TransportName | null = null;
  private lastId: string | null;
  private readonly seen = new Set<string>();
  private current: Driver | null = null;
  private generation = 0;
  private waiters: Array<{ resolve(): void; reject(err: Error): void }> = [];
  /** `options.token`, until setToken() replaces it. */
  private staticToken: string | null;
  /** Set by setToken(), or taken from getToken after a refusal: used once by the next request. */
  private nextToken: string | null = null;
  /** The token the last request went with: a refused one is not retried as is. */
  private lastToken: string | null = null;
  /** Refusals since the last transport went live: bounded by maxReconnectAttempts. */
  private refusedInARow = 0;
  private readonly refusals: Refusals;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly url: string,
    options: FallbackClientOptions,
  ) {
    this.options = withDefaults(DEFAULTS, options);
    if (this.options.channels.length === 0)
      throw new ClientError(ClientErrorCode.notConnected, 'options.channels: name at least one channel');
    this.lastId = this.options.lastEventId ?? null;
    this.staticToken = this.options.token ?? null;
    this.refusals = new Refusals(this.options);
    const storage = (globalThis as { localStorage?: TransportMemory }).localStorage;
    this.memory = options.memory ?? (storage !== undefined ? storage : MEMORY_IN_PROCESS);
    this.memoryKey = `hubcast.transport:${new URL(url).host}`;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The transport in use, `null` while none is. */
  get transport(): TransportName | null {
    return this._transport;
  }

  /** Id of the last event delivered: where the next transport resumes. */
  get lastEventId(): string | null {
    return this.lastId;
  }

  /** `event`: a channel event `{channel, event, id, data}`; `recovery_failed`: events on that channel are lost, refetch; `transport`: the one now in use. */
  // biome-ignore lint/suspicious/noExplicitAny: as MessageMap's `event`: a listener may declare its own data type.
  on(type: 'event', fn: (e: EventFrame<any>) => void): () => void;
  on(type: 'recovery_failed', fn: (n: { channel: string; reason?: string }) => void): () => void;
  on(type: 'transport', fn: (name: TransportName) => void): () => void;
  on(type: 'event' | 'recovery_failed' | 'transport', fn: (payload: never) => void): () => void {
    return this.emitter.on(type, fn as Listener<unknown>);
  }

  onStateChange(fn: (change: StateChange) => void): () => void {
    return this.stateEmitter.on('change', fn);
  }

  /** Resolves once a transport is live; rejects when every one failed `maxReconnectAttempts` rounds, or on `close()`. */
  connect(): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    const ready = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this._state === 'disconnected') {
      this.setState('connecting', 'connect() called');
      void this.run(null);
    }
    return ready;
  }

  /** A channel message (`message` event on `channel`): over the WebSocket, else by `POST /realtime/poll`. */
  publish(channel: string, message: unknown): Promise<{ id: string; delivered: number }> {
    if (this.current !== null)
      return this.current.publish(channel, message) as Promise<{ id: string; delivered: number }>;
    const fetchFn = this.options.fetch ?? globalThis.fetch;
    return httpPublish(fetchFn, pollUrl(this.url), () => this.token(), channel, message);
  }

  /**
   * Hand the client a new token (after a login, a refresh): the next request goes with it, and it
   * replaces `token` (with `getToken`, later requests ask getToken as before); a client that is
   * `unauthorized` or `forbidden` starts again at once.
   */
  setToken(token: string): void {
    this.staticToken = this.nextToken = token;
    if (this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.run(null);
  }

  close(): void {
    this.generation++;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopCurrent();
    this._transport = null;
    this.setState('disconnected', 'close() called');
    this.settle(new ClientError(ClientErrorCode.closed, 'client closed'));
  }

  private order(lost: TransportName | null): TransportName[] {
    const list = this.options.transports;
    const remembered = this.memory.getItem(this.memoryKey) as TransportName | null;
    let order =
      remembered !== null && list.includes(remembered)
        ? [remembered, ...list.filter((t) => t !== remembered)]
        : [...list];
    // The one just lost goes last: its own reconnects already failed.
    if (lost !== null) order = [...order.filter((t) => t !== lost), lost];
    return order;
  }

  private async run(lost: TransportName | null): Promise<void> {
    const generation = ++this.generation;
    let lastError: Error | null = null;
    for (let round = 0; ; round++) {
      for (const name of this.order(round === 0 ? lost : null)) {
        const driver = this.make(name, generation);
        this.current = driver;
        try {
          await driver.start(this.lastId);
        } catch (err) {
          driver.stop();
          if (generation !== this.generation) return;
          this.current = null;
          if (isRefusal(err)) return this.refused(err);
          lastError = err as Error;
          continue;
        }
        if (generation !== this.generation) return driver.stop();
        // A transport that delivered nothing yet still knows where its stream began.
        if (this.lastId === null) this.lastId = driver.position();
        this._transport = name;
        this.refusedInARow = 0;
        this.memory.setItem(this.memoryKey, name);
        this.setState('connected', `connected by ${name}`);
        this.emitter.emit('transport', name);
        this.settle(null);
        return;
      }
      if (round + 1 >= this.options.maxReconnectAttempts) {
        this.setState('disconnected', `no transport got through: ${lastError?.message}`);
        this.settle(new ClientError(ClientErrorCode.closed, `no transport got through: ${lastError?.message}`));
        return;
      }
      this.setState('reconnecting', `no transport got through: ${lastError?.message}`);
      await new Promise((r) =>
        setTimeout(r, backoffDelay(round, this.options.minReconnectDelay, this.options.maxReconnectDelay)),
      );
      if (generation !== this.generation) return;
    }
  }

  /** 401 / 403 on whichever transport: ask for another token, or wait the backoff cap. */
  private refused(err: ClientError): void {
    const generation = ++this.generation;
    this.stopCurrent();
    this._transport = null;
    if (++this.refusedInARow > this.options.maxReconnectAttempts) {
      const reason = `gave up after ${this.refusedInARow - 1} refusals: ${err.message}`;
      this.setState('disconnected', reason);
      this.settle(new ClientError(ClientErrorCode.closed, reason));
      return;
    }
    this.setState(err.code === ErrorCode.unauthorized ? 'unauthorized' : 'forbidden', err.message);
    this.refusals.answer(
      this.lastToken,
      () => generation !== this.generation,
      (token) => {
        this.nextToken = token;
        void this.run(null);
      },
      () => {
        if (generation !== this.generation) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          void this.run(null);
        }, this.options.maxReconnectDelay);
      },
    );
  }

  /** The one token source of every transport's requests. */
  private async token(): Promise<string | null> {
    const next = this.nextToken;
    this.nextToken = null;
    const token = next ?? (this.options.getToken ? await this.options.getToken() : this.staticToken);
    this.lastToken = token ?? null;
    return this.lastToken;
  }

  private make(name: TransportName, generation: number): Driver {
    const sink: TransportSink = {
      event: (frame) => {
        if (generation === this.generation) this.deliver(frame);
      },
      recoveryFailed: (channel, reason) => {
        if (generation === this.generation)
          this.emitter.emit('recovery_failed', reason === undefined ? { channel } : { channel, reason });
      },
      lost: (reason) => {
        if (generation !== this.generation || this.current === null) return;
        const position = this.current.position();
        if (this.lastId === null) this.lastId = position;
        this.stopCurrent();
        const was = this._transport;
        this._transport = null;
        this.setState('reconnecting', `${was} lost: ${reason}`);
        void this.run(was);
      },
      refused: (err) => {
        if (generation === this.generation) this.refused(err);
      },
    };
    const o = this.options;
    const driverOptions: DriverOptions = {
      channels: o.channels,
      getToken: () => this.token(),
      WebSocket: o.WebSocket,
      EventSource: o.EventSource,
      fetch: o.fetch,
      connectTimeout: o.connectTimeout,
      attemptsPerTransport: o.attemptsPerTransport,
      minReconnectDelay: o.minReconnectDelay,
      maxReconnectDelay: o.maxReconnectDelay,
    };
    if (name === 'websocket') return wsDriver(this.url, driverOptions, sink);
    if (name === 'sse') return sseDriver(this.url, driverOptions, sink);
    return new PollClient(
      this.url,
      { ...driverOptions, timeout: o.pollTimeout, attempts: o.attemptsPerTransport + 1 },
      sink,
    );
  }

  private deliver(frame: EventFrame): void {
    const id = frame.id;
    if (id !== null) {
      if (this.seen.has(id)) return;
      this.seen.add(id);
      if (this.seen.size > this.options.dedupWindow) this.seen.delete(this.seen.values().next().value as string);
      if (this.lastId === null || Number(id) > Number(this.lastId)) this.lastId = id;
    }
    this.emitter.emit('event', frame);
  }

  private stopCurrent(): void {
    const d = this.current;
    this.current = null;
    d?.stop();
  }

  private settle(err: Error | null): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters)
      if (err === null) w.resolve();
      else w.reject(err);
  }

  private setState(to: ConnectionState, reason: string): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.stateEmitter.emit('change', { from, to, reason });
  }
}

/** Open a {@link FallbackClient} on a gateway (`https://example.com`). */
export function createClient(url: string, options: FallbackClientOptions): FallbackClient {
  return new FallbackClient(url, options);
}
