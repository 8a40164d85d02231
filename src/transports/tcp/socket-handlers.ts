import { kTcpConnection, type TcpConnection, type TcpSocket } from './connection.js';

/**
 * Hang `conn` off its socket and listen with the module-level handlers below,
 * which find it there (and its transport as `conn.owner`): a connection costs
 * one property, not a closure per event.
 */
export function bindSocket(socket: TcpSocket, conn: TcpConnection): void {
  socket[kTcpConnection] = conn;
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onClose);
}

function onData(this: TcpSocket, chunk: Buffer): void {
  const conn = this[kTcpConnection];
  if (conn === undefined) return;
  const owner = conn.owner;
  try {
    owner.received(conn, chunk);
  } catch (err) {
    owner.failed(conn, 'tcp line', err);
  }
}

// The client half-closed: nothing more will come; what we still send is flushed, then we close too.
function onEnd(this: TcpSocket): void {
  this.end();
}

function onClose(this: TcpSocket): void {
  const conn = this[kTcpConnection];
  if (conn === undefined) return;
  this[kTcpConnection] = undefined;
  const owner = conn.owner;
  try {
    owner.closed(conn);
  } catch (err) {
    owner.failed(conn, 'tcp close', err);
  }
}

/** Listened for from the first moment, refused sockets too: ECONNRESET and the like; `close` follows and cleans up. */
export function onSocketError(): void {}
