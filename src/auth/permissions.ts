import { privateOwner } from '../hub/channel-name.js';
import type { ChannelOwnership } from '../hub/app-channels.js';

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
const ANONYMOUS: Identity = Object.freeze({
  userId: null,
  patterns: Object.freeze([]) as unknown as string[],
  exp: null,
  authenticated: false,
});

export const anonymous = (userId: string | null = null): Identity =>
  userId === null ? ANONYMOUS : { userId, patterns: [], exp: null, authenticated: false };

/**
 * `*` matches any run of characters, `?` one character; everything else is
 * literal. Greedy with one backtrack point (the last `*`): O(pattern ×
 * channel) at worst, ~16,000 steps for 128-character strings, however many
 * `*` the pattern has (a backtracking regex is exponential in them).
 */
export function matchPattern(pattern: string, channel: string): boolean {
  let p = 0;
  let c = 0;
  /** Where the last `*` was, and the channel position it currently swallows up to. */
  let star = -1;
  let mark = 0;
  while (c < channel.length) {
    const pc = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (pc === STAR) {
      star = p++;
      mark = c;
    } else if (pc === QUESTION || pc === channel.charCodeAt(c)) {
      p++;
      c++;
    } else if (star >= 0) {
      // Let the last `*` take one more character and retry from just after it.
      p = star + 1;
      c = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}
const STAR = 42; // '*'
const QUESTION = 63; // '?'

/** Bounds on a token's `channels` claim: patterns checked on every join and publish stay cheap. */
export const MAX_TOKEN_PATTERNS = 256;
export const MAX_PATTERN_LENGTH = 256;

/** Why a token's `channels` claim is unusable, or null when it is an acceptable list of patterns. */
export function patternsProblem(channels: unknown): string | null {
  if (!Array.isArray(channels)) return 'token channels claim must be an array of strings';
  if (channels.length > MAX_TOKEN_PATTERNS)
    return `token channels claim has ${channels.length} patterns; at most ${MAX_TOKEN_PATTERNS}`;
  for (const c of channels) {
    if (typeof c !== 'string') return 'token channels claim must be an array of strings';
    if (c.length > MAX_PATTERN_LENGTH)
      return `token channels claim has a pattern of ${c.length} characters; at most ${MAX_PATTERN_LENGTH}`;
  }
  return null;
}

function matchesAny(patterns: string[], channel: string): boolean {
  for (const p of patterns) if (matchPattern(p, channel)) return true;
  return false;
}

/** Why a join is refused, or null when allowed. `owned`: the channels applications publish to themselves (open to every token). */
export function joinDenied(identity: Identity, channel: string, owned: ChannelOwnership): string | null {
  const owner = privateOwner(channel);
  if (owner !== null) {
    return identity.userId !== null && owner === identity.userId ? null : `${channel} is private to its owner`;
  }
  if (!identity.authenticated) return null;
  if (owned.isServerOwned(channel)) return null;
  return matchesAny(identity.patterns, channel) ? null : `token does not grant channel ${channel}`;
}

/** Why a client publish is refused, or null when allowed. */
export function publishDenied(identity: Identity, channel: string, owned: ChannelOwnership): string | null {
  if (owned.isServerOwned(channel)) return `${channel} is published by the server only`;
  if (!identity.authenticated) return null;
  return matchesAny(identity.patterns, channel) ? null : `token does not grant channel ${channel}`;
}
