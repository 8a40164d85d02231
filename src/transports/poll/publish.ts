import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import type { AppChannels } from '../../hub/app-channels.js';
import { isValidChannelName } from '../../hub/channel-name.js';
import type { Authenticator } from '../../auth/tokens.js';
import { publishDenied, type Identity } from '../../auth/permissions.js';
import { sendError } from '../http/reject.js';
import { valueTooDeep, MAX_JSON_DEPTH } from '../json-depth.js';
import type { KeyedRateLimit } from '../../keyed-rate-limit.js';
import { addressKey } from '../connection-gate.js';

export interface PollPublishContext {
  hub: Hub;
  auth: Authenticator;
  /** Channels an application handles itself (chat): their messages go there, as from a WebSocket. */
  appChannels: AppChannels;
  /** Largest body accepted (the WebSocket frame limit). */
  maxBytes: number;
  /** The WebSocket frame rate, per user (with a token) or per client address; null: off. */
  rate: KeyedRateLimit | null;
  /** Called for each publish refused by `rate`. */
  onRateLimited(): void;
}

/**
 * `POST /realtime/poll` `{"channel", "message"}`: the WebSocket
 * `channel_message` for a client that has no WebSocket (it reads by SSE or
 * long polling), with the same token, permissions and result. Origin, CORS
 * and the transport switch were checked by the poll transport.
 */
export async function handlePollPublish(
  ctx: PollPublishContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  cors: Record<string, string>,
): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    return sendError(res, 415, ErrorCode.badRequest, 'send the message as application/json', cors);
  let raw: Buffer;
  try {
    raw = await readBody(req, ctx.maxBytes);
  } catch (err) {
    if (err instanceof HubcastError)
      return sendError(res, err.status, err.code, err.message, { ...cors, Connection: 'close' });
    throw err;
  }
  let identity: Identity;
  try {
    identity = await ctx.auth.identify(req, url);
  } catch (err) {
    if (err instanceof HubcastError) return sendError(res, err.status, err.code, err.message, cors);
    throw err;
  }
  if (ctx.rate !== null) {
    const key =
      identity.userId !== null ? `user:${identity.userId}` : `address:${addressKey(req.socket.remoteAddress)}`;
    const waitMs = ctx.rate.take(key);
    if (waitMs > 0) {
      ctx.onRateLimited();
      return sendError(res, 429, ErrorCode.rateLimited, 'over the message rate (WS_RATE_LIMIT): retry later', {
        ...cors,
        'Retry-After': String(Math.ceil(waitMs / 1000)),
      });
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return sendError(res, 400, ErrorCode.badRequest, 'body is not JSON', cors);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return sendError(res, 400, ErrorCode.badRequest, 'body must be a JSON object {"channel", "message"}', cors);
  const { channel, message, ...rest } = body as { channel?: unknown; message?: unknown };
  if (Object.keys(rest).length > 0)
    return sendError(
      res,
      400,
      ErrorCode.badRequest,
      `unknown field ${JSON.stringify(Object.keys(rest)[0]).slice(0, 60)}`,
      cors,
    );
  if (message === undefined) return sendError(res, 400, ErrorCode.badRequest, 'message is required', cors);
  if (valueTooDeep(message))
    return sendError(res, 400, ErrorCode.badRequest, `message nests deeper than ${MAX_JSON_DEPTH} levels`, cors);
  if (typeof channel !== 'string' || !isValidChannelName(channel)) {
    return sendError(
      res,
      400,
      ErrorCode.invalidChannel,
      `invalid channel name ${JSON.stringify(channel ?? null).slice(0, 140)}`,
      cors,
    );
  }
  const denied = publishDenied(identity, channel, ctx.appChannels);
  if (denied !== null) return sendError(res, 403, ErrorCode.forbidden, denied, cors);
  // No connection to name: each HTTP publish is its own client.
  const clientId = `http-${randomUUID()}`;
  let result: unknown;
  const owner = ctx.appChannels.ownerOf(channel);
  try {
    if (owner !== null) result = await owner.publish({ identity, clientId }, channel, message);
    else {
      const r = await ctx.hub.publishEvent(channel, 'message', {
        message,
        user_id: identity.userId,
        client_id: clientId,
      });
      result = { id: r.id, delivered: r.delivered };
    }
  } catch (err) {
    if (err instanceof HubcastError) return sendError(res, err.status, err.code, err.message, cors);
    throw err;
  }
  const text = JSON.stringify(result ?? {});
  res.writeHead(200, {
    ...cors,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes)
    return Promise.reject(new HubcastError(ErrorCode.payloadTooLarge, `body over ${maxBytes} bytes`, 413));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HubcastError(ErrorCode.payloadTooLarge, `body over ${maxBytes} bytes`, 413));
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}
