/**
 * The wire protocol on the server side. The pieces the SDK shares (codes, paths, frame types,
 * the binary codec) live in `@hubcast/client/wire` and are re-exported here; what only the server
 * does (WebSocket frame headers, SSE formatting, checking received binary headers) sits next to
 * them. The hub and the transports import framing from here, never from each other.
 */
export * from '@hubcast/client/wire';
export { encodeFrame, encodeTextFrame, OPCODE_TEXT, OPCODE_BINARY } from './ws-frame.js';
export { formatSseEvent, formatSseMessage, formatRetry, SSE_HEARTBEAT } from './sse-format.js';
export { parseBinaryMessage, encodeBinaryMessage, type BinaryParse, type ReceivedBinaryHeader } from './binary.js';
