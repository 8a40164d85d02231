import type { Logger } from 'pino';
import { CloseCode, ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import type { AppChannels } from '../../hub/app-channels.js';
import type { Authenticator } from '../../auth/tokens.js';
import type { Identity } from '../../auth/permissions.js';
import { ExpiryWatch } from '../../auth/expiry.js';
import type { WsConnection } from './connection.js';
import { fail, leaveRevoked, reply, type Ref } from './dispatch.js';

/** The transport's counters the token's life moves (reported in /realtime/stats). */
export interface TokenCounts {
  /** Connections closed 4001 because their token expired. */
  tokenExpiredCloses: number;
  tokenRefreshes: number;
}

/**
 * The token a WebSocket connection was admitted with, while it is open: the
 * connection is closed 4001 once the token expires, unless a `refresh_token`
 * replaced it first. One expiry sweep for every connection (see auth/expiry.ts).
 */
export class TokenLifetime {
  private readonly expiry = new ExpiryWatch<WsConnection>((conn) => this.expired(conn));

  constructor(
    private readonly hub: Hub,
    private readonly auth: Authenticator,
    private readonly appChannels: AppChannels,
    private readonly log: Logger,
    private readonly counts: TokenCounts,
  ) {}

  /** On open, and again after a refresh: a no-op for a token without `exp`. */
  track(conn: WsConnection): void {
    this.expiry.track(conn);
  }

  untrack(conn: WsConnection): void {
    this.expiry.untrack(conn);
  }

  stop(): void {
    this.expiry.stop();
  }

  /**
   * `refresh_token`: a new token for the same `sub` replaces the identity and
   * moves the expiry. Channels the new token no longer grants are left (named
   * in the reply). Frames sent before the reply still use the old token.
   */
  async refresh(conn: WsConnection, token: string, ref: Ref): Promise<void> {
    if (!this.auth.enabled)
      return fail(conn, ErrorCode.badRequest, 'auth is off (no JWT_SECRET): there is no token to refresh', ref);
    let identity: Identity;
    try {
      identity = await this.auth.verify(token);
    } catch (err) {
      if (conn.ws.readyState !== conn.ws.OPEN) return;
      if (err instanceof HubcastError) return fail(conn, err.code, err.message, ref);
      this.log.error({ err, clientId: conn.clientId }, 'token refresh failed');
      return fail(conn, ErrorCode.internal, 'token refresh failed', ref);
    }
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    if (identity.userId !== conn.identity.userId) {
      return fail(conn, ErrorCode.forbidden, "refresh_token must carry the same sub as the connection's token", ref);
    }
    conn.identity = identity;
    this.counts.tokenRefreshes++;
    const left = leaveRevoked(this.hub, conn, identity, this.appChannels);
    this.expiry.track(conn);
    reply(conn, ref, { exp: identity.exp, ...(left.length > 0 ? { left } : {}) });
  }

  /** The expiry sweep found this connection's token expired (and no refresh came in time). */
  private expired(conn: WsConnection): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    this.counts.tokenExpiredCloses++;
    conn.send({
      type: 'error',
      code: ErrorCode.tokenExpired,
      message: 'token expired: send refresh_token before exp to stay connected, or reconnect with a new token',
    });
    conn.close(CloseCode.tokenExpired, 'token expired');
  }
}
