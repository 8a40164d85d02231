/**
 * Binary message layout (docs/protocol.md, "Binary messages"): a 4-byte big-endian header
 * length, a UTF-8 JSON header `{"content_type", "filename", "channel"?}`, then the bytes.
 * One codec for the server and the SDK, on web-standard types only (`Uint8Array`, `DataView`,
 * `TextEncoder`), so it runs the same in browsers and Node; a Node `Buffer` is a `Uint8Array`
 * and its `subarray` stays a `Buffer`.
 */
export interface BinaryHeader {
  content_type: string;
  filename: string;
  /** Channel to deliver to; without it the server echoes the message back. */
  channel?: string;
  [key: string]: unknown;
}

/** The layout split apart; the header is any JSON object, its fields are the reader's to check. */
export type BinaryLayout<B extends Uint8Array = Uint8Array> =
  | { ok: true; header: Record<string, unknown>; body: B }
  | { ok: false; message: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Split a received binary frame into header and body. `maxHeaderLength` (the server's limit)
 * also refuses an empty header.
 */
export function decodeBinary<B extends Uint8Array>(frame: B, maxHeaderLength = Infinity): BinaryLayout<B> {
  if (frame.byteLength < 4) return { ok: false, message: 'binary frame shorter than its 4-byte header length' };
  const headerLength = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0, false);
  if (maxHeaderLength !== Infinity && (headerLength === 0 || headerLength > maxHeaderLength)) {
    return { ok: false, message: `binary header length ${headerLength} is not between 1 and ${maxHeaderLength}` };
  }
  if (4 + headerLength > frame.byteLength) {
    return {
      ok: false,
      message: `binary header length ${headerLength} runs past the frame (${frame.byteLength} bytes)`,
    };
  }
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(frame.subarray(4, 4 + headerLength)));
  } catch (err) {
    return { ok: false, message: `binary header is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return { ok: false, message: 'binary header must be a JSON object' };
  }
  return { ok: true, header: header as Record<string, unknown>, body: frame.subarray(4 + headerLength) as B };
}

/** The wire layout of `header` + `body`, ready for `WebSocket.send`. */
export function encodeBinary(header: BinaryHeader, body: Uint8Array): Uint8Array {
  const json = encoder.encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.byteLength + body.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, false);
  out.set(json, 4);
  out.set(body, 4 + json.byteLength);
  return out;
}
