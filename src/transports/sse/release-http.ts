import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/**
 * Hand an SSE connection's socket over from node:http to the SSE transport,
 * the way node:http itself does for an `upgrade`: after the response head is
 * written the stream never goes through node:http again, but an open request
 * keeps its parser (a native object with ~1.5 KB of header slots), the
 * IncomingMessage with its headers, four listeners bound to per-connection
 * state and three per-socket method overrides alive: ≈ 3–4 KB per idle
 * connection. Releasing them is what brings an idle SSE connection under
 * 6 KiB RSS (issue 4; measured with bench:connections).
 *
 * Afterwards the socket is read through the stream API (anything the client
 * sends is discarded), a half-close or an error destroys it, and the
 * transport's own `close` listener does the rest.
 *
 * Call it after node:http has finished with the request, never synchronously
 * inside its `request` event (use a microtask): Node 20 lists the parser in the
 * server's connections again when the message completes, and a released parser
 * listed there (socket = null) makes `server.close()` throw.
 *
 * Checked on Node 20 and 24 (test/transports/sse-release.test.ts): the
 * listeners are found by the names node:http binds them under; on a Node whose
 * internals differ nothing is removed and the connection only costs more.
 */
export function releaseHttpState(socket: Socket, req: IncomingMessage): boolean {
  if (socket.destroyed) return false; // node:http's own close handling already ran
  const parser = (socket as Socket & { parser?: unknown }).parser;
  if (!parser || typeof freeParser !== 'function') return false;
  for (const [event, name] of HTTP_LISTENERS) {
    for (const fn of socket.listeners(event)) {
      if ((fn as { name?: string }).name === name) socket.removeListener(event, fn as (...args: unknown[]) => void);
    }
  }
  // node:http wraps these per socket (closures) to unconsume the parser when a
  // `data` listener is added; with the parser gone the prototype's methods are
  // right. Assigned, not deleted: a delete turns the socket into a dictionary-mode
  // object (+1.6 KB).
  const own = socket as unknown as Record<string, unknown>;
  const proto = Object.getPrototypeOf(socket) as Record<string, unknown>;
  for (const key of ['on', 'addListener', 'prependListener', 'setEncoding']) {
    if (Object.hasOwn(own, key)) own[key] = proto[key];
  }
  socket.on('error', onSocketError);
  socket.on('end', onSocketEnd);
  // Unconsumes the socket (reads come back to the stream), returns the parser
  // to node:http's pool and clears parser.incoming, req.parser, socket.parser.
  freeParser(parser, req, socket);
  (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
  socket.on('data', onSocketData);
  return true;
}

// node:http's own parser release and pool (what it calls for an upgrade); the
// module is public but undocumented (no types), so its shape is checked.
const freeParser = (
  createRequire(import.meta.url)('node:_http_common') as {
    freeParser?: (parser: unknown, req: unknown, socket: unknown) => void;
  }
).freeParser;

/** node:http's per-connection listeners (see connectionListenerInternal in lib/_http_server.js). */
const HTTP_LISTENERS: Array<[string, string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
  ['error', 'socketOnError'],
  ['timeout', 'socketOnTimeout'],
  ['resume', 'onSocketResume'],
  ['pause', 'onSocketPause'],
];

// An SSE client has nothing to say after its request: drop it.
function onSocketData(): void {}

// The client half-closed: the stream is over.
function onSocketEnd(this: Socket): void {
  this.destroy();
}

// ECONNRESET and the like end the stream; `close` follows and cleans up.
function onSocketError(this: Socket): void {
  this.destroy();
}
