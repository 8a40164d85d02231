import {
  createLocalJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HubcastError } from '../errors.js';
import { ErrorCode } from '../codes.js';
import { anonymous, patternsProblem, type Identity } from './permissions.js';
import { algorithmsFor, JWKS_ALGORITHMS } from './keys.js';

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

export interface AuthOptions {
  /** HS256 secret (JWT_SECRET). */
  secret?: string;
  /** Public key for asymmetric tokens (JWT_PUBLIC_KEY). */
  publicKey?: KeyObject;
  /** Key set for asymmetric tokens, chosen by `kid` (JWT_JWKS_FILE). */
  jwks?: JSONWebKeySet;
  /** With auth on, a request without a token is anonymous instead of 401 (AUTH_ANONYMOUS). */
  anonymous?: boolean;
  /** Accepted `aud` values: a token must name one of them (JWT_AUDIENCE). */
  audience?: string[];
  /** Accepted `iss` values (JWT_ISSUER). */
  issuer?: string[];
  /** A token must carry `exp`, at most this many seconds ahead; 0 or unset = no maximum (JWT_MAX_TTL_S). */
  maxTtlSeconds?: number;
}

/**
 * The identity of an anonymous connection while auth is on: counted as
 * authenticated (so permissions apply) with no user and no grants, which
 * leaves exactly the public server channels.
 */
const ANONYMOUS_WITH_AUTH: Identity = Object.freeze({
  userId: null,
  patterns: [],
  exp: null,
  authenticated: true,
}) as Identity;

/**
 * Verifies connection tokens. With no key at all, auth is off: everyone is
 * anonymous (a `user_id` query parameter names the user, for development).
 * An HS256 token is checked against the secret; any other algorithm against
 * the JWKS or the public key — never the other way round, so a public key can
 * not be abused as an HMAC secret.
 *
 * @example
 *   const auth = new Authenticator({ secret: process.env.JWT_SECRET });
 *   const identity = await auth.verify(token); // throws HubcastError(401) when bad
 */
export class Authenticator {
  private readonly secret: Uint8Array | null;
  private readonly publicKey: KeyObject | null;
  private readonly publicAlgorithms: string[];
  private readonly jwks: JWTVerifyGetKey | null;
  private readonly allowAnonymous: boolean;
  private readonly claims: JWTVerifyOptions;
  private readonly maxTtlSeconds: number;

  constructor(options: AuthOptions | string | undefined = {}) {
    const o: AuthOptions = typeof options === 'string' || options === undefined ? { secret: options } : options;
    this.secret = o.secret ? new TextEncoder().encode(o.secret) : null;
    this.publicKey = o.publicKey ?? null;
    this.publicAlgorithms = o.publicKey ? algorithmsFor(o.publicKey) : [];
    this.jwks = o.jwks ? createLocalJWKSet(o.jwks) : null;
    this.allowAnonymous = o.anonymous === true;
    // Built once: jose checks aud and iss with the signature, with the same error types.
    this.claims = {
      ...(o.audience !== undefined && o.audience.length > 0 ? { audience: o.audience } : {}),
      ...(o.issuer !== undefined && o.issuer.length > 0 ? { issuer: o.issuer } : {}),
    };
    this.maxTtlSeconds = o.maxTtlSeconds ?? 0;
  }

  get enabled(): boolean {
    return this.secret !== null || this.publicKey !== null || this.jwks !== null;
  }

  /** With auth on: the identity of a client that brings no token, or null when one is required (AUTH_ANONYMOUS). */
  anonymousIdentity(): Identity | null {
    if (!this.enabled) return anonymous();
    return this.allowAnonymous ? ANONYMOUS_WITH_AUTH : null;
  }

  async identify(req: IncomingMessage, url: URL): Promise<Identity> {
    if (!this.enabled) {
      const userId = url.searchParams.get('user_id');
      // 123: `user:<id>` must stay a valid channel name (128 at most).
      return anonymous(userId && /^[A-Za-z0-9_\-.@]{1,123}$/.test(userId) ? userId : null);
    }
    const token = tokenFrom(req, url);
    if (!token) {
      if (this.allowAnonymous) return ANONYMOUS_WITH_AUTH;
      throw new HubcastError(
        ErrorCode.unauthorized,
        'a token is required (?token=, Authorization: Bearer, or subprotocol bearer.<token>)',
        401,
      );
    }
    return this.verify(token);
  }

  async verify(token: string): Promise<Identity> {
    if (!this.enabled) return anonymous();
    try {
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch (err) {
        throw new HubcastError(ErrorCode.unauthorized, `invalid token: ${(err as Error).message}`, 401);
      }
      let payload: JWTPayload;
      if (typeof alg === 'string' && alg.startsWith('HS')) {
        if (this.secret === null)
          throw new HubcastError(ErrorCode.unauthorized, `invalid token: alg ${alg} is not accepted here`, 401);
        ({ payload } = await jwtVerify(token, this.secret, { ...this.claims, algorithms: ['HS256'] }));
      } else if (this.jwks !== null) {
        ({ payload } = await jwtVerify(token, this.jwks, { ...this.claims, algorithms: JWKS_ALGORITHMS }));
      } else if (this.publicKey !== null) {
        ({ payload } = await jwtVerify(token, this.publicKey, { ...this.claims, algorithms: this.publicAlgorithms }));
      } else {
        throw new HubcastError(
          ErrorCode.unauthorized,
          `invalid token: alg ${JSON.stringify(alg)} is not accepted`,
          401,
        );
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw new HubcastError(ErrorCode.unauthorized, 'token has no sub claim', 401);
      }
      if (this.maxTtlSeconds > 0) {
        // A token without exp would never expire, and one far ahead outlives a leak by as much:
        // refused rather than clamped, since the same token would pass again after any clamp.
        if (typeof payload.exp !== 'number') {
          throw new HubcastError(
            ErrorCode.unauthorized,
            `token has no exp claim (required: JWT_MAX_TTL_S=${this.maxTtlSeconds})`,
            401,
          );
        }
        const ahead = payload.exp - Date.now() / 1000;
        if (ahead > this.maxTtlSeconds) {
          throw new HubcastError(
            ErrorCode.unauthorized,
            `token exp is ${Math.ceil(ahead)} s ahead, more than the ${this.maxTtlSeconds} s allowed (JWT_MAX_TTL_S)`,
            401,
          );
        }
      }
      const channels = payload.channels;
      const problem = channels === undefined ? null : patternsProblem(channels);
      if (problem !== null) throw new HubcastError(ErrorCode.unauthorized, problem, 401);
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
