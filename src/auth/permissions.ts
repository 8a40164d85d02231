import { isServerOwned, privateOwner } from '../hub/channel-name.js';

/**
 * Who a connection is and where it may go. `patterns` comes from the token's
 * `channels` claim (`chat:*`, `room:1`): channels the user may join and
 * publish to beyond the public server channels.
 */
export interface Identity {
  userId: string | null;
  patterns: string[];
  /** Token expiry, seconds since the epoch (null without auth). */
  exp: number | null;
  /** False when auth is off: every non-private channel is open. */
  authenticated: boolean;
}

/** Shared by every anonymous connection without a user id (most of them): ~100 bytes each saved. */
const ANONYMOUS: Identity = Object.freeze({ userId: null, patterns: Object.freeze([]) as unknown as string[], exp: null, authenticated: false });

export const anonymous = (userId: string | null = null): Identity =>
  userId === null ? ANONYMOUS : { userId, patterns: [], exp: null, authenticated: false };

/** `*` matches any run of characters, `?` one character; everything else is literal. */
export function matchPattern(pattern: string, channel: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === channel;
  let re = compiled.get(pattern);
  if (re === undefined) {
    const source = pattern.replace(/[.+^${}()|[\]\\/-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${source}$`);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re.test(channel);
}
const compiled = new Map<string, RegExp>();

function matchesAny(patterns: string[], channel: string): boolean {
  for (const p of patterns) if (matchPattern(p, channel)) return true;
  return false;
}

/** Why a join is refused, or null when allowed. */
export function joinDenied(identity: Identity, channel: string): string | null {
  const owner = privateOwner(channel);
  if (owner !== null) {
    return identity.userId !== null && owner === identity.userId ? null : `${channel} is private to its owner`;
  }
  if (!identity.authenticated) return null;
  if (isServerOwned(channel)) return null;
  return matchesAny(identity.patterns, channel) ? null : `token does not grant channel ${channel}`;
}

/** Why a client publish is refused, or null when allowed. */
export function publishDenied(identity: Identity, channel: string): string | null {
  if (isServerOwned(channel)) return `${channel} is published by the server only`;
  if (!identity.authenticated) return null;
  return matchesAny(identity.patterns, channel) ? null : `token does not grant channel ${channel}`;
}
