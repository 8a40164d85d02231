/**
 * Wire codes shared by the server and the client SDK, declared once in `@hubcast/client/wire`
 * (packages/client/src/wire/codes.ts). Each code's meaning is specified in docs/protocol.md.
 */
export { CloseCode, ErrorCode, SystemEvent, SystemType } from '@hubcast/client/wire';
