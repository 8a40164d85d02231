import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import type { AppChannels } from '../../hub/app-channels.js';
import type { Authenticator } from '../../auth/tokens.js';
import type { Identity } from '../../auth/permissions.js';
import { ExpiryWatch } from '../../auth/expiry.js';
import { fail, leaveRevoked, reply, type Ref } from '../ws/dispatch.js';
import type { TcpConnection } from './connection.js';

/** The transport's counter the token's life moves (reported in /realtime/stats). */
export interface TokenCounts {
  /** Connections ended because their token expired. */
  tokenExpiredCloses: number;
}

/**
 * The token a TCP connection was admitted with, while it is open: the
 * connection is ended with `token_expired` once the token expires, unless a
 * `refresh_token` replaced it first (as on WebSocket, ws/token-lifetime.ts).
 * One expiry sweep for every connection (see auth/expiry.ts).
 */
export class TokenLifetime {
  private readonly expiry = new ExpiryWatch<TcpConnection>((conn) => this.expired(conn));

  constructor(
    private readonly hub: Hub,
    private readonly auth: Authenticator,
    private readonly appChannels: AppChannels,
    private readonly counts: TokenCounts,
  ) {}

  /** On admission, and again after a refresh: a no-op for a token without `exp`. */
  track(conn: TcpConnection): void {
    this.expiry.track(conn);
  }

  untrack(conn: TcpConnection): void {
    this.expiry.untrack(conn);
  }

  stop(): void {
    this.expiry.stop();
  }

  /**
   * `refresh_token`: a new token for the same `sub` replaces the identity and
   * moves the expiry; channels the new token no longer grants are left (named
   * in the reply). A failure that is no HubcastError is thrown to the caller.
   */
  async refresh(conn: TcpConnection, token: string, ref: Ref): Promise<void> {
    if (!this.auth.enabled)
      return fail(conn, ErrorCode.badRequest, 'auth is off (no JWT_SECRET): there is no token to refresh', ref);
    let identity: Identity;
    try {
      identity = await this.auth.verify(token);
    } catch (err) {
      if (conn.closing) return;
      if (err instanceof HubcastError) return fail(conn, err.code, err.message, ref);
      throw err;
    }
    if (conn.closing) return;
    if (identity.userId !== conn.identity.userId)
      return fail(conn, ErrorCode.forbidden, "refresh_token must carry the same sub as the connection's token", ref);
    conn.identity = identity;
    const left = leaveRevoked(this.hub, conn, identity, this.appChannels);
    this.expiry.track(conn);
    reply(conn, ref, { exp: identity.exp, ...(left.length > 0 ? { left } : {}) });
  }

  /** The expiry sweep found this connection's token expired (and no refresh came in time). */
  private expired(conn: TcpConnection): void {
    if (conn.closing) return;
    this.counts.tokenExpiredCloses++;
    conn.end({
      type: 'error',
      code: ErrorCode.tokenExpired,
      message: 'token expired: send refresh_token before exp to stay connected, or reconnect with a new token',
    });
  }
}
