import { ErrorCode } from '../codes.js';
import { HubcastError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import type { AppChannels } from '../hub/app-channels.js';
import type { Authenticator } from '../auth/tokens.js';
import type { Identity } from '../auth/permissions.js';
import { ExpiryWatch } from '../auth/expiry.js';
import { type DispatchConnection, fail, leaveRevoked, reply, type Ref } from './ws/dispatch.js';

/** A connection whose identity `refresh_token` replaces. */
export interface Refreshable extends DispatchConnection {
  identity: Identity;
}

/** The transport's counters the token's life moves (reported in /realtime/stats). */
export interface TokenCounts {
  /** Connections ended because their token expired. */
  tokenExpiredCloses: number;
  /** Tokens replaced by `refresh_token`. */
  tokenRefreshes: number;
}

/** The message every transport ends an expired connection with. */
export const TOKEN_EXPIRED_MESSAGE =
  'token expired: send refresh_token before exp to stay connected, or reconnect with a new token';

/**
 * The token a connection (WebSocket, raw TCP) was admitted with, while it is
 * open: the connection is ended with `token_expired` once the token expires,
 * unless a `refresh_token` replaced it first. One expiry sweep for every
 * connection (see auth/expiry.ts). A transport says how to tell an open
 * connection and how to end an expired one.
 */
export abstract class TokenLifetime<C extends Refreshable> {
  private readonly expiry = new ExpiryWatch<C>((conn) => {
    if (!this.isOpen(conn)) return;
    this.counts.tokenExpiredCloses++;
    this.endExpired(conn);
  });

  constructor(
    private readonly hub: Hub,
    private readonly auth: Authenticator,
    private readonly appChannels: AppChannels,
    private readonly counts: TokenCounts,
  ) {}

  /** Is the connection still open, so that an answer to it matters? */
  protected abstract isOpen(conn: C): boolean;

  /** Its token expired and no refresh came in time: tell it (`token_expired`) and end it. */
  protected abstract endExpired(conn: C): void;

  /** Verifying the new token failed with something other than a refusal. Default: the caller's guard has it. */
  protected refreshFailed(_conn: C, err: unknown, _ref: Ref): void {
    throw err;
  }

  /** On admission, and again after a refresh: a no-op for a token without `exp`. */
  track(conn: C): void {
    this.expiry.track(conn);
  }

  untrack(conn: C): void {
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
  async refresh(conn: C, token: string, ref: Ref): Promise<void> {
    if (!this.auth.enabled)
      return fail(conn, ErrorCode.badRequest, 'auth is off (no JWT_SECRET): there is no token to refresh', ref);
    let identity: Identity;
    try {
      identity = await this.auth.verify(token);
    } catch (err) {
      if (!this.isOpen(conn)) return;
      if (err instanceof HubcastError) return fail(conn, err.code, err.message, ref);
      return this.refreshFailed(conn, err, ref);
    }
    if (!this.isOpen(conn)) return;
    if (identity.userId !== conn.identity.userId)
      return fail(conn, ErrorCode.forbidden, "refresh_token must carry the same sub as the connection's token", ref);
    conn.identity = identity;
    this.counts.tokenRefreshes++;
    const left = leaveRevoked(this.hub, conn, identity, this.appChannels);
    this.expiry.track(conn);
    reply(conn, ref, { exp: identity.exp, ...(left.length > 0 ? { left } : {}) });
  }
}
