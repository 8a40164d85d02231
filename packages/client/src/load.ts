import { ClientError, ClientErrorCode } from './errors.js';
import type { EventSourceConstructor, WebSocketConstructor } from './types.js';

/**
 * Finds the platform's `WebSocket` / `EventSource`, or loads the Node package
 * that provides one. The package name goes through a variable: a computed
 * specifier is left alone by browser bundlers (esbuild, webpack, Vite, Rollup)
 * instead of pulling a Node-only package into the bundle.
 */
function importOptional(name: string): Promise<{ default?: unknown; WebSocket?: unknown; EventSource?: unknown }> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ name);
}

let wsLoading: Promise<WebSocketConstructor> | null = null;
let esLoading: Promise<EventSourceConstructor> | null = null;

export function loadWebSocket(): Promise<WebSocketConstructor> {
  const native = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof native === 'function') return Promise.resolve(native as WebSocketConstructor);
  wsLoading ??= importOptional('ws').then(
    (mod) => (mod.WebSocket ?? mod.default) as WebSocketConstructor,
    (err: Error) => {
      wsLoading = null;
      throw new ClientError(
        ClientErrorCode.noTransport,
        `no WebSocket in this runtime and the "ws" package could not be loaded (${err.message}); pass options.WebSocket`,
      );
    },
  );
  return wsLoading;
}

export function loadEventSource(): Promise<EventSourceConstructor> {
  const native = (globalThis as { EventSource?: unknown }).EventSource;
  if (typeof native === 'function') return Promise.resolve(native as EventSourceConstructor);
  esLoading ??= importOptional('eventsource').then(
    (mod) => (mod.EventSource ?? mod.default) as EventSourceConstructor,
    (err: Error) => {
      esLoading = null;
      throw new ClientError(
        ClientErrorCode.noTransport,
        `no EventSource in this runtime and the "eventsource" package could not be loaded (${err.message}); pass options.EventSource`,
      );
    },
  );
  return esLoading;
}

/** `setTimeout` that does not keep a Node process alive (browsers have no `unref`). */
export function unrefTimer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const t = setTimeout(fn, ms);
  (t as { unref?: () => void }).unref?.();
  return t;
}
