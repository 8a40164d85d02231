/**
 * Per-connection message rate: a token bucket of `burst` frames refilled at
 * `perSecond`. The state lives in plain fields on the connection (checked on
 * every frame: no object, no closure per connection).
 */
export interface RateLimit {
  /** Refill, frames per second; 0 turns the limit off. */
  perSecond: number;
  /** Bucket size; also how many refusals, without the bucket filling up again, close the connection. */
  burst: number;
}

/** The bucket fields a connection carries. */
export interface RateState {
  tokens: number;
  tokensAt: number;
  /** Frames refused since the bucket was last full. */
  refused: number;
}

export const enum RateVerdict {
  ok = 0,
  /** Refuse this frame (an `error` frame `rate_limited`), keep the connection. */
  limited = 1,
  /** The client kept on past `burst` refusals: close it with 1008. */
  exceeded = 2,
}

/**
 * Take one token for a frame arriving at `now` (ms). A client that pauses long
 * enough for its bucket to fill again is forgiven its refusals; one that keeps
 * sending over the rate collects `burst` of them and is closed.
 */
export function takeToken(state: RateState, limit: RateLimit, now: number): RateVerdict {
  const elapsed = now - state.tokensAt;
  if (elapsed > 0) {
    const tokens = state.tokens + (elapsed * limit.perSecond) / 1000;
    state.tokensAt = now;
    if (tokens >= limit.burst) {
      state.tokens = limit.burst;
      state.refused = 0;
    } else state.tokens = tokens;
  }
  if (state.tokens >= 1) {
    state.tokens -= 1;
    return RateVerdict.ok;
  }
  state.refused++;
  return state.refused >= limit.burst ? RateVerdict.exceeded : RateVerdict.limited;
}

/**
 * Per-connection byte rate: a bucket of `burst` bytes refilled at `perSecond`.
 * Frames are charged their payload size once read. The frame count alone lets
 * a client push megabytes a second through the JSON parser and the echo path;
 * this bounds what one connection can make the event loop do.
 */
export interface ByteRateLimit {
  /** Refill, bytes per second; 0 turns the limit off. */
  perSecond: number;
  /** Bucket size in bytes; never below the largest frame, or that frame could never pass. */
  burst: number;
}

/** The byte-bucket fields a connection carries. */
export interface ByteRateState {
  byteTokens: number;
  byteTokensAt: number;
  /** Frames refused for bytes since the byte bucket was last full. */
  bytesRefused: number;
}

/**
 * Refusals for bytes, without the bucket filling up again, that close the
 * connection. Reading is paused after each one until the bucket holds the
 * refused frame again, so a client reaches this only by sending on through
 * several pauses: not by one burst.
 */
export const BYTE_REFUSALS_BEFORE_CLOSE = 10;

/** Take `bytes` for a frame arriving at `now` (ms); same verdicts as `takeToken`. */
export function takeBytes(state: ByteRateState, limit: ByteRateLimit, now: number, bytes: number): RateVerdict {
  const elapsed = now - state.byteTokensAt;
  if (elapsed > 0) {
    const tokens = state.byteTokens + (elapsed * limit.perSecond) / 1000;
    state.byteTokensAt = now;
    if (tokens >= limit.burst) {
      state.byteTokens = limit.burst;
      state.bytesRefused = 0;
    } else state.byteTokens = tokens;
  }
  if (state.byteTokens >= bytes) {
    state.byteTokens -= bytes;
    return RateVerdict.ok;
  }
  state.bytesRefused++;
  return state.bytesRefused >= BYTE_REFUSALS_BEFORE_CLOSE ? RateVerdict.exceeded : RateVerdict.limited;
}

/** How long (ms) until the bucket holds `bytes` again at the refill rate. */
export function bytesDueIn(state: ByteRateState, limit: ByteRateLimit, bytes: number): number {
  return Math.ceil(((bytes - state.byteTokens) * 1000) / limit.perSecond);
}
