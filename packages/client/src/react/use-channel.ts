import { useCallback, useEffect, useRef, useState } from 'react';
import { WSClient } from '../ws-client.js';
import { ClientError, ClientErrorCode } from '../errors.js';
import type { ConnectionState, EventFrame, WSClientOptions } from '../types.js';
import { RefCount, SharedClients } from './shared.js';

export interface UseChannelOptions extends WSClientOptions {
  /** The gateway's WebSocket URL. Default: `/realtime/ws` on the page's own host. */
  url?: string;
  /** Events kept in `events`, newest last. Default 100. */
  limit?: number;
}

export interface UseChannelResult<T> {
  /** The channel's events since mount, at most `limit`, oldest first. */
  events: Array<EventFrame<T>>;
  lastEvent: EventFrame<T> | null;
  state: ConnectionState;
  /** Publish to the channel (`channel_message`); resolves with the event id. */
  send: (message: unknown) => Promise<{ id: string; delivered: number }>;
}

interface Socket {
  client: WSClient;
  joins: RefCount;
}

const sockets = new SharedClients<Socket>(
  (key) => {
    const { url, options } = JSON.parse(key) as { url: string; options: WSClientOptions };
    const client = new WSClient(url, { ...options, ...pendingFns.get(key) });
    client.connect().catch(() => undefined); // the state says why; reconnect is the client's
    return { client, joins: new RefCount() };
  },
  (socket) => socket.client.disconnect(),
);
const pendingFns = new Map<string, Partial<WSClientOptions>>();

function defaultUrl(): string {
  const loc = (globalThis as { location?: Location }).location;
  if (loc === undefined) throw new Error('useChannel needs options.url outside a browser');
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/realtime/ws`;
}

function keyOf(url: string, options: UseChannelOptions): string {
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options))
    if (k !== 'url' && k !== 'limit' && typeof v !== 'function') plain[k] = v;
  return JSON.stringify({ url, options: plain });
}

/**
 * Join a channel over the page's one WebSocket (shared by every component
 * with the same URL): its live events, the connection state, and `send`.
 * The join is counted, so two components on one channel join it once; after
 * a reconnect the client re-joins from the last id it saw (resume).
 *
 * @example
 * ```tsx
 * const { events, send } = useChannel<ChatMessage>('chat:lobby');
 * ```
 */
export function useChannel<T = unknown>(channel: string, options: UseChannelOptions = {}): UseChannelResult<T> {
  const url = options.url ?? defaultUrl();
  const key = keyOf(url, options);
  const limit = options.limit ?? 100;
  const [events, setEvents] = useState<Array<EventFrame<T>>>([]);
  const [state, setState] = useState<ConnectionState>('connecting');
  const current = useRef<WSClient | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the key carries every option that changes the socket; functions (getToken, WebSocket) are read at open, so an inline one does not reconnect each render.
  useEffect(() => {
    const fns: Partial<WSClientOptions> = {};
    if (options.getToken !== undefined) fns.getToken = options.getToken;
    if (options.WebSocket !== undefined) fns.WebSocket = options.WebSocket;
    pendingFns.set(key, fns);
    const socket = sockets.acquire(key);
    pendingFns.delete(key);
    const { client, joins } = socket;
    current.current = client;
    setState(client.state);
    const offEvent = client.onMessage('event', (frame: EventFrame<T>) => {
      if (frame.channel !== channel || frame.event === 'system') return;
      setEvents((list) => (list.length >= limit ? [...list.slice(list.length - limit + 1), frame] : [...list, frame]));
    });
    const offState = client.onStateChange((change) => setState(change.to));
    if (joins.add(channel)) client.joinChannel(channel).catch(() => undefined);
    return () => {
      offEvent();
      offState();
      if (joins.remove(channel)) {
        // Deferred like the socket: a StrictMode remount takes the join back.
        setTimeout(() => {
          if (!joins.has(channel) && client.state === 'connected') client.leaveChannel(channel).catch(() => undefined);
        }, 0);
      }
      sockets.release(key);
      if (current.current === client) current.current = null;
    };
  }, [key, channel, limit]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` on purpose: a new socket gives a new `send`, so effects that depend on it run again.
  const send = useCallback(
    (message: unknown) => {
      const client = current.current;
      if (client === null)
        return Promise.reject(new ClientError(ClientErrorCode.closed, `useChannel(${channel}) is not mounted`));
      return client.publish(channel, message);
    },
    [key, channel],
  );

  return { events, lastEvent: events.length > 0 ? events[events.length - 1] : null, state, send };
}

/** How many WebSockets the hooks hold open (tests, dev tools). */
export function openSockets(): number {
  return sockets.size;
}
