import { isValidChannelName } from '../../hub/channel-name.js';

/**
 * Binary message layout (docs/protocol.md, "Binary messages"): 4-byte big-endian header length, a
 * UTF-8 JSON header `{"content_type", "filename", "channel"?}`, then the bytes.
 */
export interface BinaryHeader {
  content_type: string;
  filename: string;
  channel?: string;
}

export type BinaryParse = { ok: true; header: BinaryHeader; body: Buffer } | { ok: false; message: string };

const MAX_HEADER = 16 * 1024;

export function parseBinaryMessage(frame: Buffer): BinaryParse {
  if (frame.length < 4) return { ok: false, message: 'binary frame shorter than its 4-byte header length' };
  const headerLength = frame.readUInt32BE(0);
  if (headerLength === 0 || headerLength > MAX_HEADER) {
    return { ok: false, message: `binary header length ${headerLength} is not between 1 and ${MAX_HEADER}` };
  }
  if (4 + headerLength > frame.length) {
    return { ok: false, message: `binary header length ${headerLength} runs past the frame (${frame.length} bytes)` };
  }
  let header: unknown;
  try {
    header = JSON.parse(frame.toString('utf8', 4, 4 + headerLength));
  } catch {
    return { ok: false, message: 'binary header is not valid JSON' };
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return { ok: false, message: 'binary header must be a JSON object' };
  }
  const h = header as Record<string, unknown>;
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
    body: frame.subarray(4 + headerLength),
  };
}

/** Build a binary message (used by the SDK and tests). */
export function encodeBinaryMessage(header: BinaryHeader, body: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(4 + json.length + body.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  out.set(body, 4 + json.length);
  return out;
}
