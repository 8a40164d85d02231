import { CloseCode, ErrorCode } from '../../codes.js';
import type { WsConnection } from './connection.js';
import { RateVerdict, bytesDueIn, type ByteRateLimit, type RateLimit } from './rate-limit.js';

/** The transport's counters a refusal moves (reported in /realtime/stats). */
export interface RateRefusalCounts {
  /** Frames refused by either rate. */
  rateLimited: number;
  /** Connections closed with 1008 for either rate. */
  rateLimitCloses: number;
  /** Of `rateLimited`, frames refused for bytes. */
  byteRateLimited: number;
}

/**
 * Over the rate: the frame is dropped unread (parsing it is the work the
 * limit saves) and the client told; past `burst` refusals it is closed.
 */
export function refuseOverRate(
  counts: RateRefusalCounts,
  conn: WsConnection,
  rate: RateLimit,
  verdict: RateVerdict,
): void {
  refuse(
    counts,
    conn,
    verdict,
    `${rate.perSecond} frames/s`,
    'rate limit exceeded',
    `(burst ${rate.burst}): frame dropped`,
  );
}

/**
 * Over the byte rate: the frame is refused unparsed, the client told, and
 * its socket no longer read until the bucket holds that frame again (at most
 * `maxPauseMs`, see `maxReadPauseMs`) — TCP then holds the sender back
 * instead of this process reading, unmasking and refusing megabytes. Past
 * BYTE_REFUSALS_BEFORE_CLOSE refusals without the bucket filling up it is
 * closed, as for the frame rate.
 */
export function refuseOverBytes(
  counts: RateRefusalCounts,
  conn: WsConnection,
  rate: ByteRateLimit,
  verdict: RateVerdict,
  bytes: number,
  maxPauseMs: number,
): void {
  counts.byteRateLimited++;
  const what = `${rate.perSecond} bytes/s`;
  const dropped = `(burst ${rate.burst}): frame of ${bytes} bytes dropped, reading paused`;
  if (refuse(counts, conn, verdict, what, 'byte rate limit exceeded', dropped)) return;
  // Frames already read keep arriving while paused: they are refused above without another timer.
  const now = Date.now();
  if (now < conn.readPausedUntil) return;
  const wait = Math.min(bytesDueIn(conn, rate, bytes), maxPauseMs);
  conn.readPausedUntil = now + wait;
  conn.ws.pause();
  setTimeout(byteWaitOver, wait, conn).unref();
}

/**
 * Count the refusal and tell the client: `over <what> <dropped>` for a
 * dropped frame, or, past `burst` refusals (`exceeded`), `kept sending over
 * <what>: closing` and close 1008 with `closeReason`. True when it closed.
 */
function refuse(
  counts: RateRefusalCounts,
  conn: WsConnection,
  verdict: RateVerdict,
  what: string,
  closeReason: string,
  dropped: string,
): boolean {
  counts.rateLimited++;
  if (verdict === RateVerdict.exceeded) {
    counts.rateLimitCloses++;
    conn.send({ type: 'error', code: ErrorCode.rateLimited, message: `kept sending over ${what}: closing` });
    conn.close(CloseCode.policyViolation, closeReason);
    return true;
  }
  conn.send({ type: 'error', code: ErrorCode.rateLimited, message: `over ${what} ${dropped}` });
  return false;
}

/**
 * Longest one refusal pauses reading. Pongs wait behind the pause, so it stays
 * under half the keepalive interval (which would otherwise drop the client as
 * dead); a client still over the rate when it ends is refused, paused again,
 * and soon closed.
 */
const MAX_READ_PAUSE_MS = 5000;

/** The `maxPauseMs` of `refuseOverBytes` for a keepalive of `pingIntervalMs`; resolved once, at construction. */
export function maxReadPauseMs(pingIntervalMs: number): number {
  return Math.min(MAX_READ_PAUSE_MS, Math.floor(pingIntervalMs / 2));
}

/** Reading resumes when neither reason to pause holds: a frame in the heavy queue, a byte-rate wait. */
export function resumeReading(conn: WsConnection): void {
  if (conn.heavyQueued > 0 || conn.readPausedUntil !== 0) return;
  // ws ignores this on a closed socket.
  conn.ws.resume();
}

function byteWaitOver(conn: WsConnection): void {
  conn.readPausedUntil = 0;
  resumeReading(conn);
}
