import { jwtVerify, errors as joseErrors } from 'jose';
import type { IncomingMessage } from 'node:http';
import { HubcastError } from '../errors.js';
import { ErrorCode } from '../codes.js';
import { anonymous, type Identity } from './permissions.js';

const PROTOCOL_PREFIX = 'bearer.';

/** The token a request carries: `?token=`, `Authorization: Bearer`, or WS subprotocol `bearer.<token>`. */
export function tokenFrom(req: IncomingMessage, url: URL): string | null {
  const q = url.searchParams.get('token');
  if (q) return q;
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols) {
    for (const p of protocols.split(',')) {
      const t = p.trim();
      if (t.startsWith(PROTOCOL_PREFIX)) return t.slice(PROTOCOL_PREFIX.length);
    }
  }
  return null;
}

/**
 * Verifies connection tokens. With no secret, auth is off: everyone is
 * anonymous (a `user_id` query parameter names the user, for development).
 */
export class Authenticator {
  private readonly key: Uint8Array | null;

  constructor(secret: string | undefined) {
    this.key = secret ? new TextEncoder().encode(secret) : null;
  }

  get enabled(): boolean {
    return this.key !== null;
  }

  async identify(req: IncomingMessage, url: URL): Promise<Identity> {
    if (this.key === null) {
      const userId = url.searchParams.get('user_id');
      return anonymous(userId && /^[A-Za-z0-9_\-.@]{1,128}$/.test(userId) ? userId : null);
    }
    const token = tokenFrom(req, url);
    if (!token) throw new HubcastError(ErrorCode.unauthorized, 'a token is required (?token=, Authorization: Bearer, or subprotocol bearer.<token>)', 401);
    return this.verify(token);
  }

  async verify(token: string): Promise<Identity> {
    if (this.key === null) return anonymous();
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw new HubcastError(ErrorCode.unauthorized, 'token has no sub claim', 401);
      }
      const channels = payload.channels;
      if (channels !== undefined && (!Array.isArray(channels) || !channels.every((c) => typeof c === 'string'))) {
        throw new HubcastError(ErrorCode.unauthorized, 'token channels claim must be an array of strings', 401);
      }
      return {
        userId: payload.sub,
        patterns: (channels as string[] | undefined) ?? [],
        exp: typeof payload.exp === 'number' ? payload.exp : null,
        authenticated: true,
      };
    } catch (err) {
      if (err instanceof HubcastError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new HubcastError(ErrorCode.unauthorized, 'token expired', 401);
      if (err instanceof joseErrors.JOSEError) {
        throw new HubcastError(ErrorCode.unauthorized, `invalid token: ${err.message}`, 401);
      }
      throw err;
    }
  }
}
