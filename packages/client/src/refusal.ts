import type { ConnectionState, TokenSource } from './types.js';

/**
 * How a client answers the server refusing its token (401) or what it asked for (403): the
 * state it shows (`enter`), then `answer`: ask `getToken` once for another token and `retry`
 * with it when it differs from the refused one and the previous refusal is not recent (a
 * getToken that keeps handing out refused tokens must not make a loop); otherwise `wait` (the
 * caller's timer for its next attempt). `stale` says the client moved on meanwhile
 * (disconnected, or another attempt began), so the answer is dropped.
 * @internal
 */
export class Refusals {
  private lastAt = -Infinity;

  constructor(private readonly options: { getToken?: TokenSource; maxReconnectDelay: number }) {}

  /** The state a refusal with `status` puts the client in, and why; `forbids` names what a 403 refuses. */
  static enter(status: number, forbids: string): [ConnectionState, string] {
    return status === 401
      ? ['unauthorized', 'the server refused the token (401): no token, a bad or an expired one']
      : ['forbidden', `the token does not allow ${forbids} (403)`];
  }

  answer(refused: string | null, stale: () => boolean, retry: (token: string) => void, wait: () => void): void {
    const now = Date.now();
    const again = now - this.lastAt < this.options.maxReconnectDelay;
    this.lastAt = now;
    const getToken = this.options.getToken;
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
