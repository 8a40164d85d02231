import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WsTransport } from '../transports/ws/transport.js';
import { SSE_PATH, type SseTransport } from '../transports/sse/transport.js';
import { POLL_PATH, type PollTransport } from '../transports/poll/transport.js';
import { rejectSocket, sendError } from '../transports/http/reject.js';
import { type HandlerGuard, parseTarget } from '../transports/guard.js';
import { ErrorCode } from '../codes.js';
import { SIGNALING_PATH, WS_PATH } from '../wire/index.js';

export interface DispatchTargets {
  ws: WsTransport;
  sse: SseTransport;
  poll: PollTransport;
  guard: HandlerGuard;
  /** False once shutdown began: new streams and upgrades are refused with 503. */
  accepting(): boolean;
}

/**
 * What reaches a transport before (or instead of) fastify's router: SSE and
 * long-poll requests, taken raw so the stream is written without fastify's
 * reply, and WebSocket upgrades. One per gateway; the handlers reach the
 * transports through it, no closure per request.
 */
export class TransportDispatch {
  constructor(private readonly to: DispatchTargets) {}

  /** Runs inside the guard's `request` listener (http/app.ts): a throw here answers that request only. False: not ours, fastify routes it. */
  raw(req: IncomingMessage, res: ServerResponse): boolean {
    const target = req.url ?? '/';
    const sse = isPath(target, SSE_PATH);
    const ws = !sse && (isPath(target, WS_PATH) || isPath(target, SIGNALING_PATH));
    if (!sse && !ws && !isPath(target, POLL_PATH)) return false;
    const { guard } = this.to;
    if (!this.to.accepting()) {
      sendError(res, 503, ErrorCode.notReady, 'server is shutting down', { Connection: 'close' });
      return true;
    }
    const url = parseTarget(target);
    if (url === null) {
      sendError(res, 400, ErrorCode.badRequest, 'malformed request-target');
      return true;
    }
    if (sse) this.to.sse.handle(req, res, url).catch((err: unknown) => guard.response('sse request', err, res, req));
    else if (ws)
      this.to.ws.plainGet(req, res, url).catch((err: unknown) => guard.response('ws request', err, res, req));
    else this.to.poll.handle(req, res, url).catch((err: unknown) => guard.response('poll request', err, res, req));
    return true;
  }

  /** Runs inside the guard's `upgrade` listener: a throw or rejection here answers this socket only. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!this.to.accepting()) return rejectSocket(socket, 503, ErrorCode.notReady, 'server is shutting down');
    // A request-target such as `//[` is no URL at all: `new URL` would throw.
    const url = parseTarget(req.url);
    if (url === null) return rejectSocket(socket, 400, ErrorCode.badRequest, 'malformed request-target');
    const { ws } = this.to;
    if (!ws.handles(url.pathname))
      return rejectSocket(socket, 404, ErrorCode.notFound, `no WebSocket endpoint at ${url.pathname}`);
    await ws.upgrade(req, socket, head, url);
  }
}

/** `target` is `path`, with or without a query. */
function isPath(target: string, path: string): boolean {
  return target.startsWith(path) && (target.length === path.length || target[path.length] === '?');
}
