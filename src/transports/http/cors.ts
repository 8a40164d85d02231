/** Origin policy shared by HTTP (CORS) and WebSocket (`Origin` check). */
export class OriginPolicy {
  private readonly allowed: '*' | Set<string>;

  constructor(allowed: '*' | string[]) {
    this.allowed = allowed === '*' ? '*' : new Set(allowed);
  }

  /** A request with no Origin is not a browser cross-origin request: allowed. */
  allows(origin: string | undefined): boolean {
    return origin === undefined || this.allowed === '*' || this.allowed.has(origin);
  }

  /**
   * For the server API: an origin named in ALLOWED_ORIGINS. `*` names none —
   * a page that may read the public streams may not publish to every client.
   */
  lists(origin: string): boolean {
    return this.allowed !== '*' && this.allowed.has(origin);
  }

  /**
   * `Access-Control-Allow-Origin` value for this origin, or null for none.
   * `strict` (server API requests, see `isServerApiRequest`): listed origins only, never `*`.
   */
  allowOriginHeader(origin: string | undefined, strict = false): string | null {
    if (origin === undefined) return this.allowed === '*' && !strict ? '*' : null;
    if (this.allowed === '*') return strict ? null : '*';
    return this.allowed.has(origin) ? origin : null;
  }
}

const PRESENCE_PATH = /^\/realtime\/channels\/[^/?]+\/presence(?:\?|$)/;

/**
 * Requests to the server API, whose CORS answers name listed origins only:
 * `POST /realtime/*` (send, broadcast, upload and whatever joins them) and
 * presence reads, plus the preflights of both. Read per request from the
 * method and URL alone, before routing.
 */
export function isServerApiRequest(
  method: string | undefined,
  url: string | undefined,
  preflightMethod: string | string[] | undefined,
): boolean {
  if (url === undefined || !url.startsWith('/realtime/')) return false;
  const m = method === 'OPTIONS' && typeof preflightMethod === 'string' ? preflightMethod.toUpperCase() : method;
  if (m === 'POST') return true;
  return PRESENCE_PATH.test(url);
}
