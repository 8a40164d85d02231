/**
 * hubcast client SDK (`@hubcast/client`; the server package re-exports it as
 * `hubcast/client`): a WebSocket client with reconnect and resume, an SSE client,
 * a client that falls back from WebSocket to SSE to long polling, binary
 * messages, and the wire codes. Runs in browsers and in Node ≥ 20 (where it
 * loads `ws` / `eventsource` on demand).
 *
 * @example
 * ```ts
 * import { WSClient, createSSEClient, BinaryMessage, ErrorCode } from '@hubcast/client';
 * ```
 *
 * @packageDocumentation
 */
export { WSClient, WS_PATH } from './ws-client.js';
export { SSEClient, createSSEClient, SSE_PATH } from './sse-client.js';
export {
  FallbackClient,
  createClient,
  type FallbackClientOptions,
  type TransportName,
  type TransportMemory,
} from './fallback.js';
export { BinaryMessage, type BinaryHeader } from './binary-message.js';
export { ClientError, ClientErrorCode } from './errors.js';
export { backoffDelay } from './backoff.js';
export type { JoinOptions, JoinReply } from './subscriptions.js';
export type * from './types.js';
export { CloseCode, ErrorCode, SystemEvent, SystemType } from './wire/codes.js';
