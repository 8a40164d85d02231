import type { FastifyInstance, FastifyReply } from 'fastify';
import type { PhotoService } from './photo-service.js';
import { ErrorCode } from '../../codes.js';
import { productJsonSchema } from './product.js';
import { isProductId, type CatalogRepository } from './repository.js';
import { HubcastError, badRequest, errorBody, notFound } from '../../errors.js';
import { eventLogRoutes, parseStateQuery } from './event-log-routes.js';

export interface CatalogRoutesOptions {
  repository: CatalogRepository;
  photos: PhotoService;
  /** Browser caching of photos. Short: the URL stays the same when a photo changes; the ETag makes revalidation cheap. */
  photoCacheControl?: string;
}

const DEFAULT_PHOTO_CACHE_CONTROL = 'public, max-age=60';

/**
 * `GET /api/products`, `GET /api/products/:id` (`?version=` / `?at=`: a past state),
 * `GET /api/products/:id/photo`, and the event log's routes (event-log-routes.ts)
 * (docs/protocol.md, "HTTP endpoints"). Register with `app.register(catalogRoutes, { repository, photos })`.
 * Errors answer `{"error": {"code", "message"}}`.
 */
export async function catalogRoutes(app: FastifyInstance, options: CatalogRoutesOptions): Promise<void> {
  const { repository, photos } = options;
  const photoCacheControl = options.photoCacheControl ?? DEFAULT_PHOTO_CACHE_CONTROL;

  // Scoped to this plugin (Fastify encapsulation): the routes answer the
  // protocol's error shape however the surrounding app handles its own errors.
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof HubcastError) return reply.code(err.status).send(errorBody(err.code, err.message));
    // Fastify's own client errors (bad headers, aborted requests) keep their 4xx status.
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(ErrorCode.badRequest, (err as Error).message));
    }
    request.log.error({ err }, 'catalog request failed');
    return reply.code(500).send(errorBody(ErrorCode.internal, 'internal error'));
  });

  app.get('/api/products', { schema: { response: { 200: { type: 'array', items: productJsonSchema } } } }, async () =>
    repository.list(),
  );

  app.get<{ Params: { id: string }; Querystring: Record<string, string | string[] | undefined> }>(
    '/api/products/:id',
    { schema: { response: { 200: productJsonSchema } } },
    async (request) => {
      const id = parseId(request.params.id);
      const state = parseStateQuery(request.query);
      if (state.kind === 'version') return repository.log.productAtVersion(id, state.version);
      if (state.kind === 'at') return repository.log.productAt(id, state.at);
      const product = await repository.get(id);
      if (!product) throw notFound(`product ${id} not found`);
      return product;
    },
  );

  await app.register(eventLogRoutes, { log: repository.log, parseId });

  app.get<{ Params: { id: string } }>('/api/products/:id/photo', async (request, reply) => {
    const id = parseId(request.params.id);
    const meta = await photos.meta(id);
    if (!meta) throw notFound(`product ${id} has no photo`);
    // Answer a revalidation from metadata alone: no bytes read from cache or database.
    if (etagMatches(request.headers['if-none-match'], meta.etag)) {
      return notModified(reply, meta.etag, photoCacheControl);
    }
    const photo = await photos.get(id);
    if (!photo) throw notFound(`product ${id} has no photo`);
    return reply
      .header('Content-Type', photo.contentType)
      .header('ETag', photo.etag)
      .header('Cache-Control', photoCacheControl)
      .header('X-Cache', photo.cache)
      .send(photo.bytes);
  });
}

/** `:id` must be a product id: digits only, no sign, no leading zeros, within int4. */
function parseId(raw: string): number {
  const id = /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : NaN;
  if (!isProductId(id)) throw badRequest(`parameter "id" must be a positive integer, got ${JSON.stringify(raw)}`);
  return id;
}

/** RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

function notModified(reply: FastifyReply, etag: string, cacheControl: string): FastifyReply {
  return reply.code(304).header('ETag', etag).header('Cache-Control', cacheControl).send();
}
