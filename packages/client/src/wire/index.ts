/**
 * The wire protocol's shared pieces (`@hubcast/client/wire`): codes, paths, the frames the
 * server sends, and the binary message codec. Imported by the SDK and the server alike, so a
 * name on the wire is declared once. Web-standard types only: no Node imports here.
 *
 * @packageDocumentation
 */
export { CloseCode, ErrorCode, SystemEvent, SystemType } from './codes.js';
export { WS_PATH, SSE_PATH, POLL_PATH, SIGNALING_PATH, SDK_PATH } from './paths.js';
export { decodeBinary, encodeBinary, type BinaryHeader, type BinaryLayout } from './binary.js';
export type * from './frames.js';
