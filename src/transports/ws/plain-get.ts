import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import type { Authenticator } from '../../auth/tokens.js';
import type { OriginPolicy } from '../http/cors.js';
import { openEntry } from '../http/entry.js';
import { sendError } from '../http/reject.js';

/**
 * `GET` on a WebSocket path without an `Upgrade`: the refusal the upgrade
 * would get — `404` disabled, `403` origin, `401` / `403` token — or, when
 * the upgrade would go through, `426 Upgrade Required`. No connection slot is
 * taken and nothing is counted: a browser's `WebSocket` hides the status of a
 * refused handshake, and the SDK asks here once after a handshake failed, so
 * that a refused token reads as `unauthorized` rather than as an outage.
 * Answered with CORS headers, so a page on an allowed origin can read it.
 */
export async function answerPlainGet(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  transport: { enabled: boolean; origins: OriginPolicy; auth: Authenticator },
): Promise<void> {
  const cors = openEntry(req, res, transport.origins, {
    path: url.pathname,
    enabled: transport.enabled,
    disabledMessage: 'WebSocket transport is disabled',
    methods: ['GET'],
    allowHeaders: 'Authorization',
  });
  if (cors === null) return;
  try {
    await transport.auth.identify(req, url);
  } catch (err) {
    if (err instanceof HubcastError) return sendError(res, err.status, err.code, err.message, cors);
    throw err;
  }
  sendError(res, 426, ErrorCode.badRequest, `${url.pathname} speaks WebSocket: ask with Upgrade: websocket`, {
    ...cors,
    Upgrade: 'websocket',
  });
}
