/** Why a broker operation failed; tests and callers branch on `code`, never on the message. */
export const BrokerErrorCode = {
  /** Not connected and the connection did not come back within the publish timeout. */
  unavailable: 'broker_unavailable',
  /** `close()` was called. */
  closed: 'broker_closed',
  /** The broker refused the message (publisher confirm nack). */
  nacked: 'broker_nacked',
  /** Connected, but no confirm arrived in time (e.g. the broker is blocked on a resource alarm). */
  timeout: 'broker_timeout',
  /** The connection was lost after the publish was sent and before its confirm: it may or may not have arrived. */
  connectionLost: 'broker_connection_lost',
  /** Too many publishes already waiting for the connection. */
  overloaded: 'broker_overloaded',
  /** A delivery was settled twice (ack after ack, etc.). */
  alreadySettled: 'delivery_already_settled',
  /** Bad URL, credentials or vhost: retrying will not help. */
  misconfigured: 'broker_misconfigured',
} as const;
export type BrokerErrorCode = (typeof BrokerErrorCode)[keyof typeof BrokerErrorCode];

export class BrokerError extends Error {
  readonly code: BrokerErrorCode;
  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrokerError';
    this.code = code;
  }
}
