/**
 * A connection as the hub sees it: a transport-specific sink for pre-framed
 * bytes. The hub never formats per subscriber; it hands each one the chunk
 * built for its transport.
 */
export const enum Transport {
  ws = 0,
  sse = 1,
  /** Raw TCP: newline-delimited JSON frames. */
  tcp = 2,
  /**
   * SSE with `format=message`: every event unnamed, its data `{"event","channel","data"}`.
   * Its own kind (own set per channel, own chunk per publication) so the default SSE
   * path stays as it was and the chunk is built only where such streams read.
   */
  sseMessage = 3,
}

export interface Subscriber {
  readonly transport: Transport;
  readonly clientId: string;
  readonly userId: string | null;
  /** Channels this connection is in (kept by the hub). */
  readonly channels: Set<string>;
  /** Scratch fields of the hub's fan-out (see fanout.ts); start at 0, nothing else touches them. */
  fanoutMark: number;
  fanoutChangedAt: number;
  /** Write bytes already framed for this transport; applies the slow-client policy. */
  write(chunk: Buffer): void;
}
