/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2: FIN set, unmasked, no
 * extensions). Built once per publication and written as-is to every
 * subscriber's socket, so the fan-out never re-frames per client.
 */
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;

/** A buffer with the frame header written and room for `length` payload bytes after it. */
function allocFrame(length: number, opcode: number): { frame: Buffer; offset: number } {
  const offset = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(offset + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  return { frame, offset };
}

export function encodeFrame(payload: Buffer, opcode: number = OPCODE_TEXT): Buffer {
  const { frame, offset } = allocFrame(payload.length, opcode);
  payload.copy(frame, offset);
  return frame;
}

/** Text frame straight from a string: one allocation for header and UTF-8 body. */
export function encodeTextFrame(text: string): Buffer {
  const { frame, offset } = allocFrame(Buffer.byteLength(text), OPCODE_TEXT);
  frame.write(text, offset);
  return frame;
}
