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

  /** `Access-Control-Allow-Origin` value for this origin, or null for none. */
  allowOriginHeader(origin: string | undefined): string | null {
    if (this.allowed === '*') return '*';
    return origin !== undefined && this.allowed.has(origin) ? origin : null;
  }
}
