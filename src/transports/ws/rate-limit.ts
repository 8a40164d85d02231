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
