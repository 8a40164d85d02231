import { ErrorCode } from './wire/codes.js';

/**
 * Errors the SDK throws or rejects with. `code` is either a server error code
 * (`ErrorCode` in codes.ts, from an `{"type":"error"}` frame) or one of
 * {@link ClientErrorCode} for failures on the client side.
 */
export const ClientErrorCode = {
  /** The client is `disconnected`: call `connect()` first. */
  notConnected: 'not_connected',
  /** The send queue used while reconnecting is full (`maxQueuedMessages`). */
  queueFull: 'queue_full',
  /** No reply within `commandTimeout`. */
  timeout: 'timeout',
  /**
   * The connection dropped after the command was sent and before its reply;
   * the server may or may not have acted on it.
   */
  connectionLost: 'connection_lost',
  /** `disconnect()` / `close()` was called, or reconnecting gave up. */
  closed: 'closed',
  /** `leaveChannel` was called while the join was still pending. */
  cancelled: 'cancelled',
  /** A binary frame that does not follow the layout (4-byte length, JSON header, bytes). */
  invalidBinary: 'invalid_binary',
  /** No `WebSocket`/`EventSource` implementation could be found or loaded. */
  noTransport: 'no_transport',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * @example
 * ```ts
 * try {
 *   await client.joinChannel('user:someone-else');
 * } catch (err) {
 *   if (err instanceof ClientError && err.code === ErrorCode.forbidden) showLogin();
 * }
 * ```
 */
export class ClientError extends Error {
  readonly code: string;
  /** The command's `ref`, for errors that answer a command. */
  readonly ref?: string | number;

  constructor(code: string, message: string, ref?: string | number) {
    super(message);
    this.name = 'ClientError';
    this.code = code;
    if (ref !== undefined) this.ref = ref;
  }
}

/** Did the server refuse the token (401 `unauthorized`) or what it asked for (403 `forbidden`)? */
export function isRefusal(err: unknown): err is ClientError {
  return err instanceof ClientError && (err.code === ErrorCode.unauthorized || err.code === ErrorCode.forbidden);
}
