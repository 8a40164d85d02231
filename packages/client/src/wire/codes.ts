/**
 * Wire codes shared by the server and the client SDK. Keep this module free of
 * Node imports: the browser build of the SDK imports it.
 * Each code's meaning is specified in docs/protocol.md (test/docs/protocol-coverage checks it).
 */

/** WebSocket close codes the server uses (RFC 6455 §7.4.1 plus the 4xxx private range). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  tokenExpired: 4001,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** `code` values of `{"type":"error"}` frames and of HTTP JSON errors. */
export const ErrorCode = {
  badRequest: 'bad_request',
  invalidJson: 'invalid_json',
  invalidFrame: 'invalid_frame',
  unknownType: 'unknown_type',
  unknownCommand: 'unknown_command',
  invalidChannel: 'invalid_channel',
  forbidden: 'forbidden',
  /** A browser `Origin` not listed in ALLOWED_ORIGINS calling the server API. */
  originNotAllowed: 'origin_not_allowed',
  unauthorized: 'unauthorized',
  tokenExpired: 'token_expired',
  notFound: 'not_found',
  notSubscribed: 'not_subscribed',
  peerNotFound: 'peer_not_found',
  peerIdTaken: 'peer_id_taken',
  tooManyConnections: 'too_many_connections',
  tooManyChannels: 'too_many_channels',
  rateLimited: 'rate_limited',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  transportDisabled: 'transport_disabled',
  notReady: 'not_ready',
  presenceDisabled: 'presence_disabled',
  /** A chat post that is empty, too long or malformed: nothing was stored. */
  invalidMessage: 'invalid_message',
  internal: 'internal_error',
  /** A dependency the request needs (the cluster bus) is down: retry after `Retry-After`. */
  unavailable: 'unavailable',
  /** A request with this Idempotency-Key is still running: retry after `Retry-After`. */
  idempotencyKeyInUse: 'idempotency_key_in_use',
  /** This Idempotency-Key came with a different request body: use a new key. */
  idempotencyKeyReused: 'idempotency_key_reused',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Event names the core emits on its own (applications declare theirs). */
export const SystemEvent = {
  system: 'system',
  fileUploaded: 'file.uploaded',
  presenceJoin: 'presence.join',
  presenceLeave: 'presence.leave',
  presenceDiff: 'presence.diff',
} as const;

/** `type` values of `event: system` payloads on SSE. */
export const SystemType = {
  connected: 'connected',
  recoveryFailed: 'recovery_failed',
  tokenExpired: 'token_expired',
} as const;
