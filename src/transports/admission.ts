import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../codes.js';
import { HubcastError } from '../errors.js';
import type { Authenticator } from '../auth/tokens.js';
import type { Identity } from '../auth/permissions.js';
import { Refusal, type ConnectionGate } from './connection-gate.js';

/** A connection let in: its slot in the gate is held under `address` until the connection releases it. */
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
 * overshoot a limit, then authentication. A refusal after the slot was taken
 * gives it back; an admitted connection keeps it until it ends.
 */
export async function admit(gate: ConnectionGate, auth: Authenticator, req: IncomingMessage, url: URL): Promise<Admitted | Turned> {
  const address = req.socket.remoteAddress ?? '';
  const refusal = gate.acquire(address);
  if (refusal !== Refusal.none) {
    return { refused: true, status: refusal === Refusal.address ? 429 : 503, code: ErrorCode.tooManyConnections, message: gate.describe(refusal), retryLater: true };
  }
  try {
    return { refused: false, address, identity: await auth.identify(req, url) };
  } catch (err) {
    gate.release(address);
    if (err instanceof HubcastError) return { refused: true, status: err.status, code: err.code, message: err.message, retryLater: false };
    throw err;
  }
}
