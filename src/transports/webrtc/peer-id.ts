import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../codes.js';
import type { Identity } from '../../auth/permissions.js';

/**
 * Who may hold which peer id.
 *
 * Auth on: a peer id on the signaling endpoint belongs to a token subject —
 * `<sub>` itself (also what an absent `peer_id` means) or `<sub>:<suffix>` for
 * a user's further devices. So a signal addressed to `alice` or `alice:phone`
 * can only reach a connection holding alice's token. A connection without a
 * token (AUTH_ANONYMOUS) holds no peer id: it can neither signal nor be signalled.
 *
 * Auth off: any well-formed `peer_id` is taken first come, first served — a
 * development setup, with nobody to bind an id to.
 *
 * A `/realtime/ws` connection gets a random peer id, told only to itself (in
 * `connected`) and to the peers it signals (as `from_peer_id`). Never its
 * client id: that one reaches every member of a channel it writes to.
 */

/** Auth off: the whole id; auth on: the part after `<sub>:`. */
const FREE_ID = /^[A-Za-z0-9_\-.:@]{1,128}$/;
const SUFFIX = /^[A-Za-z0-9_\-.@]{1,64}$/;
/** A sub is taken as the token carries it; ids past this length, or with control characters, are refused. */
export const MAX_PEER_ID_LENGTH = 256;
const CONTROL = /[\u0000-\u001f\u007f]/;

export type PeerClaim = { ok: true; peerId: string } | { ok: false; status: number; code: ErrorCode; message: string };

/** The peer id a signaling-endpoint connection gets for `?peer_id=` (null or empty when absent). */
export function claimPeerId(identity: Identity, requested: string | null): PeerClaim {
  if (!identity.authenticated) {
    if (requested === null || !FREE_ID.test(requested)) {
      return refuse(400, ErrorCode.badRequest, 'peer_id query parameter is required (1-128 of A-Z a-z 0-9 _ - . : @)');
    }
    return { ok: true, peerId: requested };
  }
  const sub = identity.userId;
  if (sub === null)
    return refuse(401, ErrorCode.unauthorized, 'signaling needs a token: a connection without one holds no peer id');
  let peerId: string;
  if (requested === null || requested === '' || requested === sub) peerId = sub;
  else if (requested.startsWith(`${sub}:`) && SUFFIX.test(requested.slice(sub.length + 1))) peerId = requested;
  else {
    return refuse(
      403,
      ErrorCode.forbidden,
      `peer_id ${JSON.stringify(requested).slice(0, 140)} is not yours: use your token's sub or <sub>:<suffix> (suffix 1-64 of A-Z a-z 0-9 _ - . @), or leave it out`,
    );
  }
  if (peerId.length > MAX_PEER_ID_LENGTH || CONTROL.test(peerId)) {
    return refuse(
      400,
      ErrorCode.badRequest,
      `the token's sub cannot be a peer id (over ${MAX_PEER_ID_LENGTH} characters, or control characters)`,
    );
  }
  return { ok: true, peerId };
}

/** The peer id of a `/realtime/ws` connection: random, or none for a token-less one while auth is on. */
export function wsPeerId(identity: Identity): string | null {
  return identity.authenticated && identity.userId === null ? null : randomUUID();
}

function refuse(status: number, code: ErrorCode, message: string): PeerClaim {
  return { ok: false, status, code, message };
}
