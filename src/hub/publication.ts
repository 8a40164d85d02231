import { encodeFrame, encodeTextFrame, OPCODE_BINARY } from '../wire/ws-frame.js';
import { formatSseEvent, formatSseMessage } from '../wire/sse-format.js';

/**
 * One event published to one channel. The JSON of `data` is produced once at
 * publish time; the WS frame and the SSE chunk are each produced at most once,
 * on first need, and then shared by every subscriber and by history replay.
 */
export class Publication {
  readonly id: number;
  readonly idText: string;
  readonly channel: string;
  readonly event: string;
  /** `data` as JSON text. */
  readonly dataJson: string;
  /** For string data the SSE body carries the raw text (multi-line safe), else the JSON. */
  private readonly sseData: string;
  readonly publishedAt: number;
  private ws: Buffer | null = null;
  private sse: Buffer | null = null;
  private tcp: Buffer | null = null;
  private sseMessage: Buffer | null = null;

  /**
   * `dataJson`: the JSON of `data` when the caller has it already (bus, durable
   * history, snapshots), so it is not produced again; `data` then only matters
   * when it is a string (SSE carries it raw).
   */
  constructor(id: number, channel: string, event: string, data: unknown, publishedAt = Date.now(), dataJson?: string) {
    this.id = id;
    this.idText = String(id);
    this.channel = channel;
    this.event = event;
    this.dataJson = dataJson ?? JSON.stringify(data) ?? 'null';
    this.sseData = typeof data === 'string' ? data : this.dataJson;
    this.publishedAt = publishedAt;
  }

  /**
   * Rebuild from serialized fields (bus, durable history, snapshots): `dataJson`
   * is trusted JSON text, parsed only for string data (`text`). Through the
   * constructor, so every publication has the same shape on the fan-out path.
   */
  static fromJson(
    id: number,
    channel: string,
    event: string,
    dataJson: string,
    text: boolean,
    publishedAt: number,
  ): Publication {
    return new Publication(id, channel, event, text ? (JSON.parse(dataJson) as string) : null, publishedAt, dataJson);
  }

  /** String data (SSE carries it raw). */
  get isText(): boolean {
    return this.sseData !== this.dataJson;
  }

  /** `{"type":"event","channel","event","id","data"}` framed for WebSocket. */
  wsFrame(): Buffer {
    if (this.ws === null) this.ws = encodeTextFrame(this.eventJson());
    return this.ws;
  }

  /**
   * The same event object as one `\n`-terminated line: the TCP transport's
   * frame, and (without the newline) a long-poll answer's event.
   */
  tcpLine(): Buffer {
    if (this.tcp === null) this.tcp = Buffer.from(this.eventJson() + '\n');
    return this.tcp;
  }

  private eventJson(): string {
    return `{"type":"event","channel":${JSON.stringify(this.channel)},"event":${JSON.stringify(this.event)},"id":"${this.idText}","data":${this.dataJson}}`;
  }

  sseChunk(): Buffer {
    if (this.sse === null) this.sse = Buffer.from(formatSseEvent(this.idText, this.event, this.sseData));
    return this.sse;
  }

  /**
   * The `format=message` SSE chunk: no `event:` field, data
   * `{"event","channel","data"}` (one line: JSON has no raw line breaks).
   * Built only for channels with such streams.
   */
  sseMessageChunk(): Buffer {
    if (this.sseMessage === null)
      this.sseMessage = Buffer.from(
        formatSseMessage(this.idText, this.event, JSON.stringify(this.channel), this.dataJson),
      );
    return this.sseMessage;
  }

  /**
   * Approximate retained bytes, for history accounting: the JSON text plus the
   * WS frame and SSE chunk cached on first delivery (each about as long as
   * the JSON; a TCP line, cached only where TCP or long-poll clients read the
   * channel, likewise), plus the object. Fixed per publication, so adding and
   * subtracting it balance.
   */
  get size(): number {
    return (this.dataJson.length + this.channel.length + this.event.length) * 4 + 200;
  }
}

/**
 * A binary message (docs/protocol.md, "Binary messages"): delivered only to WebSocket subscribers, in
 * the same layout it arrived in; not kept in history.
 */
export class BinaryPublication {
  readonly channel: string;
  private readonly payload: Buffer;
  private ws: Buffer | null = null;

  constructor(channel: string, payload: Buffer) {
    this.channel = channel;
    this.payload = payload;
  }

  wsFrame(): Buffer {
    if (this.ws === null) this.ws = encodeFrame(this.payload, OPCODE_BINARY);
    return this.ws;
  }
}
