import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../codes.js';

import { SDK_PATH } from '../wire/index.js';
export { SDK_PATH };

/** One built file as served: its bytes, gzipped once, and a strong ETag of the content. */
interface Asset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  type: string;
}

/**
 * `npm run build` bundles the SDK into dist/sdk/ (scripts/build-sdk.mjs). This module is
 * two levels under the package root both as src/web/*.ts (tests) and dist/web/*.js.
 */
const SDK_DIR = new URL('../../dist/sdk/', import.meta.url);

function load(name: string, type: string): Asset | null {
  let body: Buffer;
  try {
    body = readFileSync(new URL(name, SDK_DIR));
  } catch {
    return null;
  }
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, gzip: gzipSync(body, { level: 9 }), etag, type };
}

/**
 * GET /sdk/hubcast.js (and its source map): the browser SDK as one ES module.
 * Read once at boot. Any origin may load it (a module script from another
 * origin needs CORS); `no-cache` with an ETag makes a browser revalidate with
 * a cheap 304, so an upgraded gateway is picked up at once.
 */
export function sdkRoutes(app: FastifyInstance): void {
  const files: Array<[string, Asset | null]> = [
    [SDK_PATH, load('hubcast.js', 'text/javascript; charset=utf-8')],
    [`${SDK_PATH}.map`, load('hubcast.js.map', 'application/json; charset=utf-8')],
  ];
  for (const [path, asset] of files) {
    app.get(path, async (req, reply) => serve(req, reply, asset));
  }
}

function serve(req: FastifyRequest, reply: FastifyReply, asset: Asset | null): FastifyReply {
  if (asset === null) {
    return reply
      .code(404)
      .send({ error: { code: ErrorCode.notFound, message: 'the SDK bundle is not built: run npm run build' } });
  }
  reply.headers({
    'Content-Type': asset.type,
    'Cache-Control': 'no-cache',
    ETag: asset.etag,
    Vary: 'Accept-Encoding',
    'Access-Control-Allow-Origin': '*',
    'X-Content-Type-Options': 'nosniff',
  });
  const match = req.headers['if-none-match'];
  if (match?.split(',').some((t) => t.trim().replace(/^W\//, '') === asset.etag)) {
    return reply.code(304).send();
  }
  if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
    return reply.header('Content-Encoding', 'gzip').send(asset.gzip);
  }
  return reply.send(asset.body);
}
