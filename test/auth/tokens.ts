import { SignJWT, type JWTPayload } from 'jose';

/** The secret every auth test gateway runs with. */
export const SECRET = 'test-secret-for-hubcast-auth-0123456789';
const key = new TextEncoder().encode(SECRET);

export interface TokenOptions {
  channels?: unknown;
  /** Seconds from now (negative: already expired). Default one hour. */
  expiresIn?: number;
  /** Absolute `exp` in seconds since the epoch (overrides expiresIn). */
  exp?: number;
  secret?: string;
  extra?: JWTPayload;
}

/** An HS256 token for `sub`, signed the way a real issuer would sign it. */
export async function sign(sub: string | undefined, options: TokenOptions = {}): Promise<string> {
  const claims: JWTPayload = { ...options.extra };
  if (options.channels !== undefined) claims.channels = options.channels;
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  if (sub !== undefined) jwt.setSubject(sub);
  const exp = options.exp ?? Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600);
  jwt.setExpirationTime(exp);
  return jwt.sign(options.secret === undefined ? key : new TextEncoder().encode(options.secret));
}

/** An unsigned `alg: none` token: must never be accepted. */
export function unsigned(sub: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}

/** A valid token whose payload was altered after signing (signature no longer matches). */
export async function tampered(sub: string, as: string): Promise<string> {
  const [h, , s] = (await sign(sub)).split('.');
  const payload = Buffer.from(JSON.stringify({ sub: as, exp: Math.floor(Date.now() / 1000) + 3600 })).toString(
    'base64url',
  );
  return `${h}.${payload}.${s}`;
}
