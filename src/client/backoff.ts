import type { ReconnectOptions } from './types.js';

/** Reconnect defaults, merged once per client. */
export const RECONNECT_DEFAULTS: Required<ReconnectOptions> = {
  minReconnectDelay: 250,
  maxReconnectDelay: 15_000,
  maxReconnectAttempts: Infinity,
};

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): the delay before attempt `attempt` (0-based) is drawn
 * uniformly from `[0, min(max, min * 2^attempt)]`, so a fleet of clients
 * dropped together by a restart does not come back in lockstep.
 *
 * @example
 * ```ts
 * backoffDelay(0, 250, 15000); // somewhere in [0, 250]
 * backoffDelay(5, 250, 15000); // somewhere in [0, 8000]
 * ```
 */
export function backoffDelay(attempt: number, minDelay: number, maxDelay: number, random: () => number = Math.random): number {
  const cap = Math.min(maxDelay, minDelay * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
