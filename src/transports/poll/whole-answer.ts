import type { ServerResponse } from 'node:http';

/**
 * A long-poll answer written as one prebuilt buffer — status line, headers
 * and body — in one `socket.write`, shared by every poll that gets the same
 * answer, instead of `writeHead` + `end` per response.
 *
 * One publish releases thousands of held polls in one pass: with `writeHead` +
 * `end` each answer built and validated its head again and went out as a
 * chunked body in a five-part `writev` (≈ 32 µs per answer on the 2-core
 * development machine, 5,000 answers ≈ 160 ms; bench:poll-release). With the
 * answer rendered once and written whole it is one `write` of shared bytes
 * per socket.
 *
 * node:http still owns the connection: the response is then marked as sent
 * and ended with nothing more to write, so its `finish` does what it always
 * does (keep-alive timeout, the next request on the socket, `close`). That
 * takes two fields node:http keeps on every OutgoingMessage (`_header`,
 * `_headerSent`, stable since Node 0.x and what `headersSent` reads); the
 * path is taken only where the answer would be a plain keep-alive one
 * anyway — the socket is the response's own, nothing was written yet, and
 * node:http keeps the connection open after it (`shouldKeepAlive`, its
 * per-socket request limit not reached). Anything else (HTTP/1.0 without
 * keep-alive, a pipelined request still queued, a Node whose fields differ)
 * gets `writeHead` + `end` with the same headers.
 * Checked on Node 20 (test/transports/poll-whole-answer.test.ts).
 */
export interface WholeAnswer {
  /** The head as a string, for node:http's `_header` (what `headersSent` reads). */
  readonly head: string;
  /** Head and body. */
  readonly bytes: Buffer;
  /** The `Keep-Alive: timeout` it announces. */
  readonly keepAliveS: number;
}

interface ResponseFields {
  _header: string | null;
  _headerSent: boolean;
  _keepAliveTimeout?: unknown;
  shouldKeepAlive: boolean;
  maxRequestsOnConnectionReached?: boolean;
  chunkedEncoding: boolean;
}

/**
 * The whole answer: `headLines` (each `Name: value\r\n`) after the content
 * type, then Date, the keep-alive lines and Content-Length.
 */
export function renderWholeAnswer(body: Buffer, headLines: string, keepAliveS: number): WholeAnswer {
  const head =
    `HTTP/1.1 200 OK\r\n${headLines}Date: ${httpDate()}\r\nConnection: keep-alive\r\n` +
    `Keep-Alive: timeout=${keepAliveS}\r\nContent-Length: ${body.length}\r\n\r\n`;
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + body.length);
  const at = bytes.write(head, 0, 'latin1');
  body.copy(bytes, at);
  return { head, bytes, keepAliveS };
}

/**
 * The `Keep-Alive: timeout` node:http would announce on `res` (whole seconds),
 * or -1 when the whole-answer path does not apply to it.
 */
export function wholeAnswerKeepAlive(res: ServerResponse): number {
  const r = res as unknown as ResponseFields;
  const socket = res.socket as (ServerResponse['socket'] & { _httpMessage?: unknown }) | null;
  if (socket === null || socket._httpMessage !== res || !socket.writable) return -1;
  if (r._header !== null || r._headerSent !== false || r.chunkedEncoding !== false) return -1;
  if (r.shouldKeepAlive !== true || r.maxRequestsOnConnectionReached === true) return -1;
  const ms = r._keepAliveTimeout;
  return typeof ms === 'number' && ms >= 1000 ? Math.floor(ms / 1000) : -1;
}

/**
 * Write `answer` on `res`'s socket (after wholeAnswerKeepAlive said yes);
 * `res.end()` then completes the response with nothing more to write.
 */
export function writeWholeAnswer(res: ServerResponse, answer: WholeAnswer): void {
  res.socket!.write(answer.bytes);
  const r = res as unknown as ResponseFields;
  r._header = answer.head;
  r._headerSent = true;
}

let dateSecond = -1;
let dateText = '';

/** IMF-fixdate of now, rendered once per second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
