import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../codes.js';
import { HubcastError } from '../errors.js';
import type { Authenticator } from '../auth/tokens.js';
import type { Identity } from '../auth/permissions.js';
import { Refusal, type ConnectionGate } from './connection-gate.js';

/** A connection let in: its socket holds a slot in the gate under `address` until it closes. */
export interface Admitted {
  readonly refused: false;
  readonly address: string;
  readonly identity: Identity;
}

/** A connection turned away, with what to answer; it holds no slot. */
export interface Turned {
  readonly refused: true;
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  /** A limit refusal: worth retrying later (`Retry-After`). */
  readonly retryLater: boolean;
}

/**
 * The first two steps of every WS and SSE connection: a slot in the
 * connection gate, taken before anything asynchronous so a burst cannot
 * overshoot a limit, then authentication.
 *
 * The slot belongs to the request's socket (`ConnectionGate.acquireFor`):
 * whatever fails later — ws refusing the handshake, the peer vanishing
 * mid-handshake, a handler throwing — closes the socket and so gives the slot
 * back; no step after this one has to remember to. A refusal here gives it
 * back at once, since an SSE refusal leaves a keep-alive socket open.
 */
export async function admit(
  gate: ConnectionGate,
  auth: Authenticator,
  req: IncomingMessage,
  url: URL,
): Promise<Admitted | Turned> {
  const socket = req.socket;
  const address = socket.remoteAddress ?? '';
  const refusal = gate.acquireFor(socket, address);
  if (refusal === Refusal.gone)
    return {
      refused: true,
      status: 400,
      code: ErrorCode.badRequest,
      message: 'connection closed during admission',
      retryLater: false,
    };
  if (refusal !== Refusal.none) {
    return {
      refused: true,
      status: refusal === Refusal.address ? 429 : 503,
      code: ErrorCode.tooManyConnections,
      message: gate.describe(refusal),
      retryLater: true,
    };
  }
  try {
    return { refused: false, address, identity: await auth.identify(req, url) };
  } catch (err) {
    gate.releaseFor(socket);
    if (err instanceof HubcastError)
      return { refused: true, status: err.status, code: err.code, message: err.message, retryLater: false };
    throw err;
  }
}

/** Give back the slot `admit` took for `req`, for a refusal after admission that leaves the socket open. */
export function unadmit(gate: ConnectionGate, req: IncomingMessage): void {
  gate.releaseFor(req.socket);
}
