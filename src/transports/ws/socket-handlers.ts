import type { WebSocket, RawData } from 'ws';
import type { HandlerGuard } from '../guard.js';
import { kConnection, type WsConnection } from './connection.js';

/** What the handlers call on the transport that opened the socket (WsTransport). */
export interface SocketOwner {
  readonly guard: HandlerGuard;
  received(conn: WsConnection, data: RawData, isBinary: boolean): void;
  closed(conn: WsConnection): void;
  error(conn: WsConnection, err: Error): void;
}

/** Where the owning transport hangs off its `ws` socket, next to the connection. */
const kTransport = Symbol('hubcast.wsTransport');

type Tagged = WebSocket & { [kConnection]: WsConnection; [kTransport]: SocketOwner };

/**
 * Hang `conn` and its transport off the socket and listen with the
 * module-level handlers below, which find both there: a connection costs two
 * properties, not a closure per event.
 */
export function bindSocket(ws: WebSocket, conn: WsConnection, owner: SocketOwner): void {
  const tagged = ws as Tagged;
  tagged[kConnection] = conn;
  tagged[kTransport] = owner;
  ws.on('message', onMessage);
  ws.on('pong', onPong);
  ws.on('close', onClose);
  ws.on('error', onError);
}

// ws emits these from inside its socket's `data` and `close` handlers: an
// exception escaping one would be uncaught and end the process, so each runs
// under the transport's guard.

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const t = this as Tagged;
  try {
    t[kTransport].received(t[kConnection], data, isBinary);
  } catch (err) {
    t[kTransport].guard.connection('ws message', err, t[kConnection], { clientId: t[kConnection].clientId });
  }
}

function onPong(this: WebSocket): void {
  (this as Tagged)[kConnection].alive = true;
}

function onClose(this: WebSocket): void {
  const t = this as Tagged;
  try {
    t[kTransport].closed(t[kConnection]);
  } catch (err) {
    t[kTransport].guard.connection('ws close', err, t[kConnection], { clientId: t[kConnection].clientId });
  }
}

function onError(this: WebSocket, err: Error): void {
  const t = this as Tagged;
  try {
    t[kTransport].error(t[kConnection], err);
  } catch (thrown) {
    t[kTransport].guard.connection('ws error', thrown, t[kConnection], { clientId: t[kConnection].clientId });
  }
}
