import { ClientError, ClientErrorCode } from './errors.js';
import { decodeBinary, encodeBinary, type BinaryHeader } from './wire/binary.js';

export type { BinaryHeader };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A binary WebSocket message: a 4-byte big-endian header length, a UTF-8 JSON
 * header `{content_type, filename, channel?}`, then the bytes. Uses only web
 * standard types (`Uint8Array`, `DataView`, `TextEncoder`), so it works the
 * same in browsers and Node.
 *
 * @example
 * ```ts
 * const png = new Uint8Array(await file.arrayBuffer());
 * client.sendBinary(BinaryMessage.fromBytes(png, 'image/png', 'cat.png', 'room:1'));
 *
 * client.onMessage('binary', (msg) => {
 *   console.log(msg.header.filename, msg.bytes.byteLength);
 * });
 * ```
 */
export class BinaryMessage {
  readonly header: BinaryHeader;
  readonly bytes: Uint8Array;

  constructor(header: BinaryHeader, bytes: Uint8Array) {
    this.header = header;
    this.bytes = bytes;
  }

  /** Build a message; `bytes` may be a `Uint8Array` (Node `Buffer` too), an `ArrayBuffer` or a string (UTF-8). */
  static fromBytes(
    bytes: Uint8Array | ArrayBuffer | string,
    contentType: string,
    filename: string,
    channel?: string,
  ): BinaryMessage {
    const body =
      typeof bytes === 'string' ? encoder.encode(bytes) : bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const header: BinaryHeader = { content_type: contentType, filename };
    if (channel !== undefined) header.channel = channel;
    return new BinaryMessage(header, body);
  }

  /**
   * Parse a received frame. Throws a `ClientError` with code `invalid_binary`
   * when the layout is wrong.
   */
  static decode(data: ArrayBuffer | ArrayBufferView): BinaryMessage {
    const frame =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const layout = decodeBinary(frame);
    if (!layout.ok) throw new ClientError(ClientErrorCode.invalidBinary, layout.message);
    return new BinaryMessage(layout.header as BinaryHeader, layout.body);
  }

  /** The wire layout, ready for `WebSocket.send`. */
  encode(): Uint8Array {
    return encodeBinary(this.header, this.bytes);
  }

  get contentType(): string {
    return this.header.content_type;
  }

  get filename(): string {
    return this.header.filename;
  }

  get channel(): string | undefined {
    return this.header.channel;
  }

  /** The bytes decoded as UTF-8. */
  text(): string {
    return decoder.decode(this.bytes);
  }
}
