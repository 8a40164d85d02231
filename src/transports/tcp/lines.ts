/** What the line splitter keeps on a connection between reads. */
export interface LineReader {
  /** The unterminated tail of earlier reads, and its size. */
  partial: Buffer[];
  partialBytes: number;
  /** Stop at once: the connection is ending. */
  readonly closing: boolean;
  /** A token is being verified: the rest of the read waits in `waiting`, in order. */
  readonly verifying: boolean;
  waiting: Buffer[] | null;
}

/**
 * Split a read into `\n`-terminated lines (the `\n` not included), each at
 * most `max` bytes: `onLine` for each complete one, `onTooLong` (and nothing
 * more) for the first that is or would be longer. A line may span reads.
 */
export function splitLines<C extends LineReader>(
  conn: C,
  chunk: Buffer,
  max: number,
  onLine: (conn: C, line: Buffer) => void,
  onTooLong: (conn: C) => void,
): void {
  let start = 0;
  let nl = chunk.indexOf(LF);
  while (nl !== -1) {
    let line = chunk.subarray(start, nl);
    if (conn.partialBytes > 0) {
      conn.partial.push(line);
      line = Buffer.concat(conn.partial, conn.partialBytes + line.length);
      conn.partial = [];
      conn.partialBytes = 0;
    }
    if (line.length > max) return onTooLong(conn);
    onLine(conn, line);
    start = nl + 1;
    if (conn.closing) return;
    if (conn.verifying) {
      if (start < chunk.length) (conn.waiting ??= []).push(chunk.subarray(start));
      return;
    }
    nl = chunk.indexOf(LF, start);
  }
  if (start < chunk.length) {
    const rest = chunk.subarray(start);
    if (conn.partialBytes + rest.length > max) return onTooLong(conn);
    // A copy: the unterminated tail must not keep the whole read buffer alive.
    conn.partial.push(Buffer.from(rest));
    conn.partialBytes += rest.length;
  }
}

const LF = 10;
