/** Small pure helpers of the RabbitMQ driver, kept apart so they can be tested without a broker. */

/**
 * Full-jitter exponential backoff: uniform in [floor, min(max, initial·2^(attempt-1))].
 * Jitter spreads gateways that lost the same broker so they do not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  const floor = Math.min(50, cap);
  return Math.round(floor + Math.random() * (cap - floor));
}

/** The URL with its password masked, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch (err) {
    return `<unparsable URL: ${(err as Error).message}>`;
  }
}

/** Add `heartbeat=<s>` unless the URL chooses its own: a silently dead peer is then noticed in ~2 heartbeats. */
export function withDefaultHeartbeat(url: string, seconds: number): string {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
  return u.toString();
}

/**
 * Errors that retrying cannot fix: bad credentials (403 ACCESS_REFUSED), an
 * unknown vhost (530 NOT_ALLOWED), or our topology clashing with existing
 * declarations (406 PRECONDITION_FAILED).
 */
export function isMisconfiguration(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return (
    /ACCESS[-_]REFUSED|NOT[-_]ALLOWED|PRECONDITION[-_]FAILED|\b(403|530|406)\b/.test(message) || refusedVhost(message)
  );
}

/**
 * amqplib reports a refused `connection.open` (unknown vhost, no permission on
 * it) without the reply code: "Expected ConnectionOpenOk; got <ConnectionClose …>".
 */
function refusedVhost(message: string): boolean {
  return /Expected ConnectionOpenOk; got <ConnectionClose/.test(message);
}

/** A human hint for the messages amqplib leaves cryptic. */
export function explainConnectError(message: string): string {
  return refusedVhost(message) ? `${message} (the vhost does not exist or the user has no access to it)` : message;
}
