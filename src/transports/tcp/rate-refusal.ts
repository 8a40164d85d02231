import { ErrorCode } from '../../codes.js';
import { RateVerdict, bytesDueIn, type ByteRateLimit, type RateLimit } from '../ws/rate-limit.js';
import type { TcpConnection } from './connection.js';

/** The transport's counters a refusal moves (reported in /realtime/stats). */
export interface RateRefusalCounts {
  /** Lines refused by either rate. */
  rateLimited: number;
  /** Connections closed for either rate. */
  rateLimitCloses: number;
}

/** Longest one byte-rate refusal pauses reading. */
const MAX_READ_PAUSE_MS = 5000;

/** Over the frame rate: the line is dropped unparsed and the client told; past `burst` refusals it is closed. */
export function refuseOverRate(
  counts: RateRefusalCounts,
  conn: TcpConnection,
  rate: RateLimit,
  verdict: RateVerdict,
): void {
  refuse(counts, conn, `${rate.perSecond} frames/s (burst ${rate.burst})`, verdict);
}

/**
 * Over the byte rate: refused as for the frame rate, and the socket no longer
 * read until the bucket holds that line again (at most MAX_READ_PAUSE_MS).
 * `now` is the instant the line was weighed against both buckets.
 */
export function refuseOverBytes(
  counts: RateRefusalCounts,
  conn: TcpConnection,
  rate: ByteRateLimit,
  verdict: RateVerdict,
  bytes: number,
  now: number,
): void {
  refuse(counts, conn, `${rate.perSecond} bytes/s (burst ${rate.burst})`, verdict);
  if (verdict === RateVerdict.limited && now >= conn.readPausedUntil) {
    // TCP holds the sender back while this process reads nothing.
    const wait = Math.min(bytesDueIn(conn, rate, bytes), MAX_READ_PAUSE_MS);
    conn.readPausedUntil = now + wait;
    conn.socket.pause();
    setTimeout(readPauseOver, wait, conn).unref();
  }
}

/** Count the refusal and tell the client: the line dropped, or past `burst` refusals (`exceeded`), the connection closed. */
function refuse(counts: RateRefusalCounts, conn: TcpConnection, what: string, verdict: RateVerdict): void {
  counts.rateLimited++;
  if (verdict === RateVerdict.exceeded) {
    counts.rateLimitCloses++;
    return conn.end({ type: 'error', code: ErrorCode.rateLimited, message: `kept sending over ${what}: closing` });
  }
  conn.send({ type: 'error', code: ErrorCode.rateLimited, message: `over ${what}: frame dropped` });
}

function readPauseOver(conn: TcpConnection): void {
  conn.readPausedUntil = 0;
  resumeReading(conn);
}

/** Reading resumes when no reason to pause holds: a token being verified, a heavy line waiting, a byte-rate wait. */
export function resumeReading(conn: TcpConnection): void {
  if (conn.closing || conn.verifying || conn.heavyQueued > 0 || conn.readPausedUntil !== 0) return;
  conn.socket.resume();
}
