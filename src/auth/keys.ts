import { readFileSync } from 'node:fs';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';

/**
 * Key material for asymmetric tokens, read once at start. Each loader throws
 * an Error whose message the config schema turns into the one line that
 * names the variable.
 */

/** `JWT_PUBLIC_KEY`: a PEM public key (SPKI or X.509 certificate) given inline, or the path of a PEM file. */
export function readPublicKey(value: string): KeyObject {
  const pem = value.includes('-----BEGIN') ? value.replace(/\\n/g, '\n') : readText(value);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`not a PEM public key: ${(err as Error).message}`);
  }
  if (algorithmsFor(key).length === 0) throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  return key;
}

/** `JWT_JWKS_FILE`: the path of a JSON Web Key Set (`{"keys": [...]}`) with public keys. */
export function readJwksFile(path: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(readText(path));
  } catch (err) {
    throw new Error(`not a JSON file: ${(err as Error).message}`);
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((k) => typeof k === 'object' && k !== null && typeof k.kty === 'string')
  ) {
    throw new Error('expected {"keys": [...]} with at least one JWK');
  }
  if (keys.some((k) => 'd' in k || k.kty === 'oct'))
    throw new Error('a JWKS for verification holds public keys only (no "d", no "oct")');
  return value as JSONWebKeySet;
}

/** The JWS algorithms a public key may verify (never HS*, never none). */
export function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1'
        ? ['ES256']
        : curve === 'secp384r1'
          ? ['ES384']
          : curve === 'secp521r1'
            ? ['ES512']
            : [];
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}

/** Every asymmetric algorithm a JWKS may name. */
export const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
