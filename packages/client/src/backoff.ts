import type { ReconnectOptions } from './types.js';

/**
 * Reconnect defaults, merged once per client. The cap stays far below the
 * server's default history reach (10 minutes by age, ≥ 2 minutes by bytes at
 * 1,000 events/s), so a client that backs off all the way still resumes
 * rather than being told `recovery_failed`.
 */
export const RECONNECT_DEFAULTS: Required<ReconnectOptions> = {
  minReconnectDelay: 250,
  maxReconnectDelay: 10_000,
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
 * backoffDelay(0, 250, 10000); // somewhere in [0, 250]
 * backoffDelay(5, 250, 10000); // somewhere in [0, 8000]
 * ```
 */
export function backoffDelay(
  attempt: number,
  minDelay: number,
  maxDelay: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxDelay, minDelay * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
