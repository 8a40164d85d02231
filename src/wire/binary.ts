import { decodeBinary, encodeBinary, type BinaryHeader } from '@hubcast/client/wire';
import { isValidChannelName } from '../hub/channel-name.js';

/**
 * The server's reading of a binary message: the shared codec (`@hubcast/client/wire`) splits the
 * layout, this checks the header fields a client may send (docs/protocol.md, "Binary messages").
 */
export interface ReceivedBinaryHeader {
  content_type: string;
  filename: string;
  channel?: string;
}

export type BinaryParse = { ok: true; header: ReceivedBinaryHeader; body: Buffer } | { ok: false; message: string };

const MAX_HEADER = 16 * 1024;

export function parseBinaryMessage(frame: Buffer): BinaryParse {
  const layout = decodeBinary(frame, MAX_HEADER);
  if (!layout.ok) return layout;
  const h = layout.header;
  if (typeof h.content_type !== 'string' || h.content_type.length === 0 || h.content_type.length > 255) {
    return { ok: false, message: 'binary header content_type: expected a non-empty string' };
  }
  if (typeof h.filename !== 'string' || h.filename.length > 255) {
    return { ok: false, message: 'binary header filename: expected a string' };
  }
  if (h.channel !== undefined && !isValidChannelName(h.channel)) {
    return { ok: false, message: 'binary header channel: not a valid channel name' };
  }
  return {
    ok: true,
    header: { content_type: h.content_type, filename: h.filename, channel: h.channel as string | undefined },
    body: layout.body,
  };
}

/** Build a binary message as a `Buffer` (tests and Node tools; the SDK has `BinaryMessage`). */
export function encodeBinaryMessage(header: BinaryHeader, body: Uint8Array): Buffer {
  const out = encodeBinary(header, body);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
