import { useEffect, useState } from 'react';
import { SSEClient } from '../sse-client.js';
import type { ConnectionState, SSEClientOptions, SSEEvent } from '../types.js';
import { SharedClients } from './shared.js';

export interface UseSSEOptions extends Omit<SSEClientOptions, 'channels'> {
  /**
   * Event names to listen to. Default `['message']`: unnamed events, which is
   * every event of a stream opened with `format=message` (its data is then
   * `{"event", "channel", "data"}`).
   */
  events?: string[];
}

export interface UseSSEResult<T> {
  /** `data` of the last event (parsed JSON, or the text), `null` before the first. */
  data: T | null;
  lastEvent: SSEEvent<T> | null;
  state: ConnectionState;
  /** Set when the client gave up (`disconnected` for good). */
  error: Error | null;
}

/** One EventSource per URL (and token) for the whole page. */
const streams = new SharedClients<SSEClient>(
  (key) => {
    const { url, options } = JSON.parse(key) as { url: string; options: SSEClientOptions };
    return new SSEClient(url, { ...options, ...pending.get(key) });
  },
  (client) => client.close(),
);
/** Options that do not survive JSON (functions, constructors), handed to the client being opened. */
const pending = new Map<string, Partial<SSEClientOptions>>();

function keyOf(url: string, options: UseSSEOptions): string {
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (k !== 'events' && typeof v !== 'function') plain[k] = v;
  return JSON.stringify({ url, options: plain });
}

/**
 * Read an SSE stream in a component: the latest event, the connection state.
 * Components that use the same URL share one stream; it closes when the last
 * of them unmounts, and it reconnects and resumes (Last-Event-ID) by itself.
 *
 * @example
 * ```tsx
 * const { data, state } = useSSE<{ event: string; data: Product }>('/realtime/events?channels=products&format=message');
 * ```
 */
export function useSSE<T = unknown>(url: string, options: UseSSEOptions = {}): UseSSEResult<T> {
  const key = keyOf(url, options);
  const names = (options.events ?? ['message']).join(',');
  const [result, setResult] = useState<UseSSEResult<T>>({
    data: null,
    lastEvent: null,
    state: 'connecting',
    error: null,
  });

  // biome-ignore lint/correctness/useExhaustiveDependencies: the key carries every option that changes the stream; functions (getToken, EventSource) are read at open, so an inline one does not reopen it each render.
  useEffect(() => {
    const fns: Partial<SSEClientOptions> = {};
    if (options.getToken !== undefined) fns.getToken = options.getToken;
    if (options.EventSource !== undefined) fns.EventSource = options.EventSource;
    pending.set(key, fns);
    const client = streams.acquire(key);
    pending.delete(key);
    setResult((r) => (r.state === client.state ? r : { ...r, state: client.state }));
    const offs = names
      .split(',')
      .map((name) =>
        client.onEvent<T>(name, (event) => setResult((r) => ({ ...r, data: event.data, lastEvent: event }))),
      );
    offs.push(
      client.onStateChange((change) =>
        setResult((r) => ({
          ...r,
          state: change.to,
          error: change.to === 'disconnected' && change.reason !== undefined ? new Error(change.reason) : r.error,
        })),
      ),
    );
    return () => {
      for (const off of offs) off();
      streams.release(key);
    };
  }, [key, names]);

  return result;
}

/** How many SSE streams the hooks hold open (tests, dev tools). */
export function openStreams(): number {
  return streams.size;
}
