/**
 * The minimal WebSocket client wire format the bench clients speak over raw
 * TCP sockets (a library client would cost more than the server's own work
 * per message, and the harness would be what is measured).
 */
import { randomBytes } from 'node:crypto';

/** End of an HTTP response head. */
export const HEAD_END = Buffer.from('\r\n\r\n');

/** Integer at `buf[i..]` (digits only; stops at the first non-digit). */
export function readInt(buf: Buffer, i: number): number {
  let v = 0;
  for (let c = buf[i]; c >= 48 && c <= 57; c = buf[++i]) v = v * 10 + (c - 48);
  return v;
}

/** A client frame (clients must mask). */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : 4;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

/**
 * Call `onFrame` for every complete server frame in `buf` from `pos` (payload
 * at `start..end`); returns where the first incomplete frame begins
 * (`buf.length` when none).
 */
export function eachFrame(
  buf: Buffer,
  pos: number,
  onFrame: (opcode: number, start: number, end: number) => void,
): number {
  const n = buf.length;
  while (pos + 2 <= n) {
    const opcode = buf[pos] & 0x0f;
    let len = buf[pos + 1] & 0x7f;
    let start = pos + 2;
    if (len === 126) {
      if (pos + 4 > n) break;
      len = buf.readUInt16BE(pos + 2);
      start = pos + 4;
    } else if (len === 127) {
      if (pos + 10 > n) break;
      len = buf.readUInt32BE(pos + 2) * 2 ** 32 + buf.readUInt32BE(pos + 6);
      start = pos + 10;
    }
    const end = start + len;
    if (end > n) break;
    onFrame(opcode, start, end);
    pos = end;
  }
  return pos;
}
