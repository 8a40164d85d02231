import type { Logger } from 'pino';
import { CloseCode, ErrorCode } from '../../codes.js';
import type { Hub } from '../../hub/hub.js';
import type { AppChannels } from '../../hub/app-channels.js';
import type { Authenticator } from '../../auth/tokens.js';
import { TOKEN_EXPIRED_MESSAGE, TokenLifetime, type TokenCounts } from '../token-lifetime.js';
import type { WsConnection } from './connection.js';
import { fail, type Ref } from './dispatch.js';

/** A WebSocket connection's token: closed 4001 once it expires, unless a `refresh_token` replaced it first. */
export class WsTokenLifetime extends TokenLifetime<WsConnection> {
  constructor(
    hub: Hub,
    auth: Authenticator,
    appChannels: AppChannels,
    private readonly log: Logger,
    counts: TokenCounts,
  ) {
    super(hub, auth, appChannels, counts);
  }

  protected isOpen(conn: WsConnection): boolean {
    return conn.ws.readyState === conn.ws.OPEN;
  }

  protected endExpired(conn: WsConnection): void {
    conn.send({ type: 'error', code: ErrorCode.tokenExpired, message: TOKEN_EXPIRED_MESSAGE });
    conn.close(CloseCode.tokenExpired, 'token expired');
  }

  /** The connection stays: the client is told, the old token goes on until its `exp`. */
  protected override refreshFailed(conn: WsConnection, err: unknown, ref: Ref): void {
    this.log.error({ err, clientId: conn.clientId }, 'token refresh failed');
    fail(conn, ErrorCode.internal, 'token refresh failed', ref);
  }
}
