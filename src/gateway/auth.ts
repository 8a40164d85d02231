import type { Config } from '../config/config.js';
import { Authenticator } from '../auth/tokens.js';

/** The one token verifier, shared by every transport and by applications' routes, its options resolved from the config once. */
export function createAuthenticator(config: Config): Authenticator {
  return new Authenticator({
    secret: config.jwtSecret,
    publicKey: config.jwtPublicKey,
    jwks: config.jwtJwks,
    anonymous: config.authAnonymous,
    audience: config.jwtAudience,
    issuer: config.jwtIssuer,
    maxTtlSeconds: config.jwtMaxTtlS,
  });
}
