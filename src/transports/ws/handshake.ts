import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { ErrorCode } from '../../codes.js';
import { rejectSocket } from '../http/reject.js';

/** What is wrong with a WebSocket opening handshake, as status and message; null when ws will accept it. */
export interface HandshakeProblem {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

// RFC 6455 §4.2.1: the key is 16 random bytes in base64 (what ws checks too).
const KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * The checks ws runs on an opening handshake (RFC 6455 §4.2.1), made before
 * admission: a malformed handshake is answered without a connection slot,
 * an authentication, or any work. ws checks again (and the subprotocol and
 * extension lists, which only it parses); a refusal there closes the socket,
 * which gives the slot back.
 */
export function handshakeProblem(req: IncomingMessage): HandshakeProblem | null {
  if (req.method !== 'GET')
    return {
      status: 405,
      message: `WebSocket handshake must be a GET, not ${String(req.method).slice(0, 20)}`,
      headers: { Allow: 'GET' },
    };
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket')
    return { status: 400, message: 'WebSocket handshake needs Upgrade: websocket' };
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key))
    return { status: 400, message: 'WebSocket handshake needs a Sec-WebSocket-Key of 16 bytes in base64' };
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    return {
      status: 400,
      message: 'WebSocket handshake needs Sec-WebSocket-Version 13',
      headers: { 'Sec-WebSocket-Version': '13, 8' },
    };
  }
  return null;
}

/**
 * ws refused the handshake itself (`wsClientError`): answer in our JSON shape
 * (ws's own answer is plain text). The socket closing gives the connection
 * slot back (see ConnectionGate.acquireFor).
 */
export function onHandshakeRefused(this: WebSocketServer, err: Error, socket: Duplex, req: IncomingMessage): void {
  const status = req.method !== 'GET' ? 405 : 400;
  rejectSocket(
    socket,
    status,
    ErrorCode.badRequest,
    `WebSocket handshake refused: ${err.message}`,
    /Version/.test(err.message) ? { 'Sec-WebSocket-Version': '13, 8' } : {},
  );
}
