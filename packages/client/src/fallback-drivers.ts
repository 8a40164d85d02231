import { ClientError, ClientErrorCode } from './errors.js';
import { httpPublish, pollUrl, type TransportSink } from './poll-client.js';
import { SSEClient } from './sse-client.js';
import type { ConnectionState, EventSourceConstructor, TokenSource, WebSocketConstructor } from './types.js';
import { ErrorCode } from './wire/codes.js';
import { SSE_PATH } from './wire/paths.js';
import { WSClient } from './ws-client.js';

/**
 * One transport under the fallback client.
 * @internal
 */
export interface Driver {
  start(since: string | null): Promise<void>;
  /** The last position the transport knows: an event id, or where its stream began. */
  position(): string | null;
  publish(channel: string, message: unknown): Promise<unknown>;
  stop(): void;
}

/**
 * What every driver is built from: the fallback's options and its one token source.
 * @internal
 */
export interface DriverOptions {
  channels: string[];
  getToken: TokenSource;
  WebSocket?: WebSocketConstructor;
  EventSource?: EventSourceConstructor;
  fetch?: typeof fetch;
  connectTimeout: number;
  attemptsPerTransport: number;
  minReconnectDelay: number;
  maxReconnectDelay: number;
}

/** A refused WS or SSE client: its own retry stops here, the fallback client decides what comes next. */
function refusalOf(change: { to: ConnectionState; reason?: string }): ClientError | null {
  if (change.to !== 'unauthorized' && change.to !== 'forbidden') return null;
  return new ClientError(
    change.to === 'unauthorized' ? ErrorCode.unauthorized : ErrorCode.forbidden,
    change.reason ?? change.to,
  );
}

/**
 * A driver's start, cut short by a refusal seen before it went live; once live, a refusal and a
 * loss go to the sink. `onState` listens to the driver's client. From a refusal on, the client's
 * token source answers nothing: the client's own answer to the refusal (ask getToken, retry) must
 * not call the application for a token nobody will use, nor retry before the fallback decides.
 */
function lifecycle(sink: TransportSink, source: TokenSource) {
  let live = false;
  let stopped = false;
  let refuse: (err: ClientError) => void = () => undefined;
  return {
    getToken: (() => (stopped ? null : source())) as TokenSource,
    onState(change: { to: ConnectionState; reason?: string }): void {
      const refusal = refusalOf(change);
      if (refusal !== null) {
        stopped = true;
        if (live) sink.refused(refusal);
        else refuse(refusal);
      } else if (live && change.to === 'disconnected') sink.lost(change.reason ?? 'closed');
    },
    async run(start: () => Promise<void>): Promise<void> {
      const refused = new Promise<never>((_, reject) => {
        refuse = reject;
      });
      await Promise.race([start(), refused]);
      live = true;
    },
    stop(): void {
      live = false;
      stopped = true;
    },
  };
}

/** @internal */
export function wsDriver(url: string, o: DriverOptions, sink: TransportSink): Driver {
  const life = lifecycle(sink, o.getToken);
  const ws = new WSClient(url, {
    minReconnectDelay: o.minReconnectDelay,
    maxReconnectDelay: o.maxReconnectDelay,
    WebSocket: o.WebSocket,
    getToken: life.getToken,
    connectTimeout: o.connectTimeout,
    maxReconnectAttempts: o.attemptsPerTransport,
  });
  ws.onMessage('event', (e) => sink.event(e));
  ws.onMessage('recovery_failed', (n) => sink.recoveryFailed(n.channel, n.reason));
  ws.onStateChange((c) => life.onState(c));
  return {
    start: (since) =>
      life.run(async () => {
        await ws.connect();
        await Promise.all(o.channels.map((channel) => ws.joinChannel(channel, since === null ? {} : { since })));
      }),
    position() {
      let max: string | null = null;
      for (const channel of o.channels) {
        const id = ws.lastEventId(channel);
        if (id !== null && (max === null || Number(id) > Number(max))) max = id;
      }
      return max;
    },
    publish: (channel, message) => ws.publish(channel, message),
    stop() {
      life.stop();
      ws.disconnect();
    },
  };
}

/** @internal */
export function sseDriver(url: string, o: DriverOptions, sink: TransportSink): Driver {
  const stream = new URL(url);
  stream.pathname = SSE_PATH;
  stream.search = '';
  stream.searchParams.set('format', 'message');
  let sse: SSEClient | null = null;
  const life = lifecycle(sink, o.getToken);
  return {
    start: (since) =>
      life.run(async () => {
        const client = new SSEClient(stream.toString(), {
          minReconnectDelay: o.minReconnectDelay,
          maxReconnectDelay: o.maxReconnectDelay,
          channels: o.channels,
          EventSource: o.EventSource,
          getToken: life.getToken,
          maxReconnectAttempts: o.attemptsPerTransport,
          ...(since === null ? {} : { lastEventId: since }),
        });
        sse = client;
        client.onEvent<{ event: string; channel: string; data: unknown }>('message', (e) => {
          if (e.data !== null && typeof e.data === 'object')
            sink.event({ type: 'event', channel: e.data.channel, event: e.data.event, id: e.id, data: e.data.data });
        });
        client.onEvent<{ channels?: string[]; reason?: string }>('recovery_failed', (e) => {
          for (const channel of e.data.channels ?? []) sink.recoveryFailed(channel, e.data.reason);
        });
        client.onStateChange((c) => life.onState(c));
        // A proxy that buffers the stream opens it and never shows the `connected` notice.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new ClientError(ClientErrorCode.timeout, `no SSE stream within ${o.connectTimeout} ms`)),
            o.connectTimeout,
          );
        });
        try {
          await Promise.race([client.ready, timeout]);
        } finally {
          clearTimeout(timer);
        }
      }),
    position: () => sse?.lastEventId ?? null,
    publish: (channel, message) => httpPublish(o.fetch ?? globalThis.fetch, pollUrl(url), o.getToken, channel, message),
    stop() {
      life.stop();
      sse?.close();
    },
  };
}
