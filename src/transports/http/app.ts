import Fastify, { LogController, type FastifyInstance, type FastifyError, type FastifyBaseLogger } from 'fastify';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Logger } from 'pino';
import { ErrorCode } from '../../codes.js';
import { HubcastError, errorBody } from '../../errors.js';
import { isServerApiRequest, type OriginPolicy } from './cors.js';

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit: number;
  origins: OriginPolicy;
  /** Requests this returns true for bypass Fastify entirely (the SSE stream). */
  raw: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * The Fastify app for the JSON API and pages. The node server in front of it
 * hands the SSE path to the SSE transport directly: a stream that lives for
 * hours gains nothing from a request/reply pipeline built for short calls.
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance<Server> {
  let server!: Server;
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    return503OnClosing: true,
    serverFactory: (handler) => {
      server = createServer((req, res) => {
        if (!options.raw(req, res)) handler(req, res);
      });
      // SSE streams and WS sockets live long; node's defaults for request
      // timeouts only cover receiving the request, which stays as is.
      server.keepAliveTimeout = 65_000;
      return server;
    },
  });

  app.addHook('onRequest', async (req, reply) => {
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
      return reply.code(415).send(errorBody(ErrorCode.unsupportedMediaType, err.message));
    }
    if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send(errorBody(ErrorCode.badRequest, 'body must be a JSON object'));
    }
    if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send(errorBody(ErrorCode.badRequest, err.message));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody(ErrorCode.internal, 'internal server error'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(ErrorCode.notFound, `no route for ${req.method} ${req.url.split('?')[0]}`));
  });

  return app;
}
