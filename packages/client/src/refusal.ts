import type { TokenSource } from './types.js';

/**
 * What a client does after the server refused its token (401 / 403): ask `getToken` once for
 * another token and `retry` with it when it differs from the refused one and the previous refusal
 * is not recent (`again`: a getToken that keeps handing out refused tokens must not make a loop);
 * otherwise `wait` (the caller's timer for its next attempt). `stale` says the client moved on
 * meanwhile (disconnected, or another attempt began), so the answer is dropped.
 * @internal
 */
export function afterRefusal(
  getToken: TokenSource | undefined,
  refused: string | null,
  again: boolean,
  stale: () => boolean,
  retry: (token: string) => void,
  wait: () => void,
): void {
  if (getToken === undefined) return wait();
  Promise.resolve()
    .then(() => getToken())
    .then(
      (token) => {
        if (stale()) return;
        if (token && token !== refused && !again) retry(token);
        else wait();
      },
      () => wait(),
    );
}

/**
 * The status `url` answers a plain GET with, or `undefined` when it cannot be reached (an outage).
 * How a client in a browser learns why a WebSocket handshake or an EventSource failed: neither
 * tells, and a refused token must read as a refusal, not as an outage to retry.
 * @internal
 */
export async function statusOf(url: string, init: RequestInit): Promise<number | undefined> {
  if (typeof fetch !== 'function') return undefined;
  const abort = new AbortController();
  try {
    return (await fetch(url, { ...init, signal: abort.signal })).status;
  } catch {
    return undefined;
  } finally {
    abort.abort();
  }
}
