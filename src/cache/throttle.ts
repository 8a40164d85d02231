import type { Logger } from '../logger.js';

/**
 * A warning that fires at most once per interval, carrying how many repeats
 * were held back. For failures that repeat per request or per reconnect
 * attempt (Redis down): one line per interval says it all without flooding.
 */
export function throttledWarn(logger: Logger, intervalMs = 10_000): (obj: object, msg: string) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (obj, msg) => {
    const now = performance.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    logger.warn(suppressed > 0 ? { ...obj, suppressed } : obj, msg);
    last = now;
    suppressed = 0;
  };
}
