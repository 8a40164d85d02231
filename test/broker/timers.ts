import { createHook } from 'node:async_hooks';

/**
 * Tracks timers (ref'd or unref'd: `process.getActiveResourcesInfo()` only
 * sees ref'd ones) created between `start()` and the check, so a test can
 * assert that shutdown cleared every timer it created. `ignore` skips timers
 * whose creation stack matches (libraries the test itself uses).
 */
export function trackTimers(options: { ignore?: RegExp } = {}): { live(): number; freeze(): void; stop(): void } {
  const live = new Set<number>();
  let frozen = false;
  const hook = createHook({
    init(asyncId, type) {
      if (type !== 'Timeout' || frozen) return;
      // e.g. /undici/: fetch's keep-alive timers belong to the test's own HTTP calls
      if (options.ignore?.test(new Error().stack ?? '')) return;
      live.add(asyncId);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  });
  hook.enable();
  return {
    live: () => live.size,
    /** Stop recording new timers (the test's own polling), keep watching the recorded ones go. */
    freeze: () => {
      frozen = true;
    },
    stop: () => hook.disable(),
  };
}
