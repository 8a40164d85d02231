import Fastify, { LogController, type FastifyInstance, type FastifyError, type FastifyBaseLogger } from 'fastify';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ErrorCode } from '../../codes.js';
import { HubcastError, errorBody } from '../../errors.js';
import { isServerApiRequest, type OriginPolicy } from './cors.js';
import type { HandlerGuard } from '../guard.js';
import { trackRoutes } from './route-list.js';

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit: number;
  origins: OriginPolicy;
  /** Catches what any request handler throws (see guard.ts). */
  guard: HandlerGuard;
  /** Requests this returns true for bypass Fastify entirely (the SSE stream). */
  raw: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * The Fastify app for the JSON API and pages. The node server in front of it
 * hands the SSE path to the SSE transport directly: a stream that lives for
 * hours gains nothing from a request/reply pipeline built for short calls.
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance<Server> {
  const guard = options.guard;
  let server!: Server;
  let closing = false;
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    // Fastify answers these itself, each in its own JSON shape; ours are below.
    return503OnClosing: false,
    frameworkErrors: (err, _req, reply) => {
      const fe = err as FastifyError;
      const status = fe.statusCode ?? 400;
      const body = errorBody(status >= 500 ? ErrorCode.internal : ErrorCode.badRequest, frameworkMessage(fe));
      void (reply as unknown as { code(n: number): { send(b: unknown): void } }).code(status).send(body);
    },
    clientErrorHandler: clientError,
    serverFactory: (handler) => {
      server = createServer(
        guard.requestListener((req, res) => {
          if (!options.raw(req, res)) handler(req, res);
        }),
      );
      // SSE streams and WS sockets live long; node's defaults for request
      // timeouts only cover receiving the request, which stays as is.
      server.keepAliveTimeout = 65_000;
      return server;
    },
  });

  trackRoutes(app);
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.addHook('onRequest', async (req, reply) => {
    if (closing) {
      reply.header('Connection', 'close');
      return reply.code(503).send(errorBody(ErrorCode.notReady, 'server is shutting down'));
    }
    const origin = req.headers.origin;
    const strict = isServerApiRequest(req.method, req.url, req.headers['access-control-request-method']);
    const allow = options.origins.allowOriginHeader(origin, strict);
    if (allow !== null) {
      reply.header('Access-Control-Allow-Origin', allow);
      if (allow !== '*') reply.header('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      reply
        .header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
        .header('Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID, If-None-Match')
        .header('Access-Control-Max-Age', '600')
        .code(204)
        .send();
    }
  });

  app.setErrorHandler((err: FastifyError | HubcastError | Error, req, reply) => {
    if (err instanceof HubcastError) {
      return reply.code(err.status).send(errorBody(err.code, err.message));
    }
    const fe = err as FastifyError;
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (fe.statusCode === 400 && err instanceof SyntaxError)) {
      return reply.code(400).send(errorBody(ErrorCode.invalidJson, `body is not valid JSON: ${err.message}`));
    }
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) {
      return reply.code(413).send(errorBody(ErrorCode.payloadTooLarge, err.message));
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.statusCode === 415) {
      const type = String(req.headers['content-type'] ?? '').slice(0, 100);
      return reply
        .code(415)
        .send(errorBody(ErrorCode.unsupportedMediaType, `Content-Type ${JSON.stringify(type)} is not accepted here`));
    }
    if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send(errorBody(ErrorCode.badRequest, 'body must be a JSON object'));
    }
    if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send(errorBody(ErrorCode.badRequest, err.message));
    }
    const answer = guard.record('http route', err, { method: req.method, route: req.routeOptions.url });
    return reply.code(answer.status).send(errorBody(answer.code, answer.message));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(ErrorCode.notFound, `no route for ${req.method} ${req.url.split('?')[0]}`));
  });

  return app;
}

/** Fastify's router refusals: the request-target does not decode, or a path parameter is too long. */
function frameworkMessage(err: FastifyError): string {
  if (err.code === 'FST_ERR_BAD_URL') return 'malformed request-target: a percent-escape does not decode';
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return 'a path segment is too long';
  return err.message;
}

/**
 * node:http could not parse a request (bad request line or header, a head
 * over its size limit, a timeout): answered in our shape, then closed.
 */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let message = 'malformed HTTP request';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    message = 'request not received in time';
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = 'request head too large';
  }
  if (socket.writable) {
    const body = JSON.stringify(errorBody(ErrorCode.badRequest, message));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
