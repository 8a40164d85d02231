import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ErrorCode } from '../codes.js';
import { HubcastError } from '../errors.js';
import { rejectSocket, sendError } from './http/reject.js';

/** Which kind of handler an exception escaped from: the log line names it. */
export type HandlerKind =
  | 'http request'
  | 'http route'
  | 'sse request'
  | 'sse socket close'
  | 'poll request'
  | 'tcp line'
  | 'tcp close'
  | 'upgrade'
  | 'ws request'
  | 'ws frame'
  | 'ws message'
  | 'ws close'
  | 'ws error';

/** What a client is told about an exception: status, wire code and a message safe to show. */
export interface Answer {
  status: number;
  code: ErrorCode;
  message: string;
}

/** Something that can be closed on an exception (a WS connection). */
export interface Closable {
  close(code: number, reason: string): void;
}

/**
 * The one place an exception from a socket, upgrade or request handler ends.
 *
 * Every handler the network calls — node:http's `request` and `upgrade`, the
 * raw SSE route, Fastify's routes (through its error handler), the ws
 * `message`/`close`/`error` handlers and connection opening, the SSE socket's
 * `close` handler — hands what it catches to this object (socket `error`
 * handlers only ignore: the `close` that follows cleans up). The exception is logged
 * with the handler's kind, counted (`handler_errors` in /realtime/stats), and
 * turned into an answer for that one client: an HTTP error while a response
 * can still be written, otherwise a close. Nothing reaches the event loop as
 * an uncaught exception, which would end the process for every client.
 *
 * The answer: a `HubcastError` carries its own; an error from reading the
 * request itself (a request-target `URL` cannot parse, a percent-escape that
 * does not decode) is the client's fault: 400 `bad_request`; anything else is
 * a bug: 500 `internal_error` with no detail (the log has it).
 */
export class HandlerGuard {
  /** Exceptions caught so far; 0 in a healthy process (the fuzz suites assert it). */
  caught = 0;

  constructor(private readonly log: Logger) {}

  static answer(err: unknown): Answer {
    if (err instanceof HubcastError) return { status: err.status, code: err.code, message: err.message };
    if (isRequestInputError(err))
      return { status: 400, code: ErrorCode.badRequest, message: 'malformed request-target' };
    return { status: 500, code: ErrorCode.internal, message: 'internal server error' };
  }

  /** Record an exception from handler `kind`; returns what to tell the client. */
  record(kind: HandlerKind, err: unknown, detail?: Record<string, unknown>): Answer {
    const answer = HandlerGuard.answer(err);
    this.caught++;
    try {
      const level = answer.status >= 500 ? 'error' : 'warn';
      this.log[level](
        { err, handler: kind, ...detail },
        `${kind} handler failed: answered ${answer.status} ${answer.code}`,
      );
    } catch {
      // A logger that throws must not turn a contained error into a crash: the count above still shows it.
    }
    return answer;
  }

  /** An exception while answering an HTTP request: a JSON error if the head is not out yet, else the socket is closed. */
  response(kind: HandlerKind, err: unknown, res: ServerResponse, req?: IncomingMessage): void {
    const answer = this.record(
      kind,
      err,
      req === undefined ? undefined : { method: req.method, path: pathOf(req.url) },
    );
    try {
      if (!res.headersSent && !res.writableEnded) {
        sendError(res, answer.status, answer.code, answer.message, { Connection: 'close' });
      } else {
        res.socket?.destroy();
      }
    } catch {
      res.socket?.destroy();
    }
  }

  /** An exception while handling an upgrade (before the WebSocket is open): a JSON error on the raw socket, then close. */
  socket(kind: HandlerKind, err: unknown, socket: Duplex, req?: IncomingMessage): void {
    const answer = this.record(
      kind,
      err,
      req === undefined ? undefined : { method: req.method, path: pathOf(req.url) },
    );
    try {
      if (isFresh(socket)) rejectSocket(socket, answer.status, answer.code, answer.message);
      else socket.destroy();
    } catch {
      socket.destroy();
    }
  }

  /** An exception in an open connection's handler: close it (1011), or just record when it is already closing. */
  connection(kind: HandlerKind, err: unknown, conn: Closable | undefined, detail?: Record<string, unknown>): void {
    this.record(kind, err, detail);
    if (conn === undefined || kind === 'ws close' || kind === 'ws error') return;
    try {
      conn.close(1011, 'internal error');
    } catch {
      // Closing failed too: the socket's own close path still cleans up.
    }
  }

  /**
   * node:http's `request` listener running `handler` under this guard,
   * whether it throws or returns a promise that rejects.
   */
  requestListener(
    handler: (req: IncomingMessage, res: ServerResponse) => unknown,
  ): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      try {
        const out = handler(req, res);
        if (out instanceof Promise) out.catch((err: unknown) => this.response('http request', err, res, req));
      } catch (err) {
        this.response('http request', err, res, req);
      }
    };
  }

  /**
   * node:http's `upgrade` listener running `handler` under this guard. The
   * socket gets an `error` listener first: node:http takes its own away
   * before `upgrade`, and an `error` with no listener ends the process.
   */
  upgradeListener(
    handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown,
  ): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
    return (req, socket, head) => {
      socket.on('error', ignoreSocketError);
      try {
        const out = handler(req, socket, head);
        if (out instanceof Promise) out.catch((err: unknown) => this.socket('upgrade', err, socket, req));
      } catch (err) {
        this.socket('upgrade', err, socket, req);
      }
    };
  }
}

/**
 * The `error` listener of a socket no other handler owns yet (an upgrade
 * before ws takes it over): resets from peers that vanish mid-handshake end
 * up here; the socket is destroyed by then and its `close` cleans up.
 */
export function ignoreSocketError(): void {}

/**
 * The request-target as a URL, or null when it is not one a handler can use
 * (`//[`, `http://[`: WHATWG URL parsing throws on them).
 */
export function parseTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return null; // the caller answers 400 naming the request-target
  }
}

/** Errors that come from parsing what the client sent, not from a bug. */
function isRequestInputError(err: unknown): boolean {
  if (err instanceof URIError) return true;
  return err instanceof TypeError && (err as NodeJS.ErrnoException).code === 'ERR_INVALID_URL';
}

/** Nothing written on it yet: an HTTP answer is still possible. */
function isFresh(socket: Duplex): boolean {
  return !socket.destroyed && socket.writable && (socket as Duplex & { bytesWritten?: number }).bytesWritten === 0;
}

/** The path of a request-target for the log: no query (it may carry a token), at most 200 characters. */
function pathOf(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  return path.length <= 200 ? path : `${path.slice(0, 200)}…`;
}
