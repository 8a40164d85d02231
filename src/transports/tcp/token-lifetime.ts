import { ErrorCode } from '../../codes.js';
import { TOKEN_EXPIRED_MESSAGE, TokenLifetime } from '../token-lifetime.js';
import type { TcpConnection } from './connection.js';

/**
 * A raw TCP connection's token: the line is ended with `token_expired` once it
 * expires, unless a `refresh_token` replaced it first (as on WebSocket). A
 * refresh that fails unexpectedly goes to the transport's guard, which ends the line.
 */
export class TcpTokenLifetime extends TokenLifetime<TcpConnection> {
  protected isOpen(conn: TcpConnection): boolean {
    return !conn.closing;
  }

  protected endExpired(conn: TcpConnection): void {
    conn.end({ type: 'error', code: ErrorCode.tokenExpired, message: TOKEN_EXPIRED_MESSAGE });
  }
}
