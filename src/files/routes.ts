import type { FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { randomUUID } from 'node:crypto';
import { ErrorCode, SystemEvent } from '../codes.js';
import { HubcastError, errorBody } from '../errors.js';
import type { Publisher } from '../hub/publisher.js';
import type { ServerApiGuard } from '../transports/http/api-key.js';
import { contentMismatch, sanitizeFilename } from './file-types.js';
import { FILE_ID, type FileStore, type StoredFile } from './store.js';

export interface UploadRoutesOptions {
  publisher: Publisher;
  /** Where uploads are kept (PostgreSQL in a cluster, so every node serves every file). */
  files: FileStore;
  maxBytes: number;
  /** Where uploads are announced (UPLOAD_CHANNEL, `files` by default). */
  channel: string;
  /** The server API's access rules: uploads publish to `files`, so they need what a send needs. */
  guard: ServerApiGuard;
}

/** RFC 2046: 1-70 characters, quoted or not. Without one the multipart parser throws before reading a byte. */
const BOUNDARY = /;\s*boundary=(?:"[^"]{1,70}"|[^\s;"]{1,70})\s*(?:;|$)/i;

/**
 * The multipart parser reports a broken body (cut short, bad part headers) as
 * a plain Error: that is the client's doing, so 400, not 500. Errors that
 * already carry a status (the size limit) and our own pass through.
 */
function malformed(err: unknown): unknown {
  if (err instanceof HubcastError || !(err instanceof Error)) return err;
  if ((err as { statusCode?: number }).statusCode !== undefined) return err;
  return new HubcastError(ErrorCode.badRequest, `malformed multipart body: ${err.message.slice(0, 200)}`, 400);
}

/**
 * `POST /realtime/binary/upload` (multipart, one file ≤ UPLOAD_MAX_BYTES):
 * stored in the file store (files go out only through the route below, as
 * attachments), then announced on channel `files` (UPLOAD_CHANNEL) as
 * `file.uploaded`.
 */
export async function uploadRoutes(app: FastifyInstance, options: UploadRoutesOptions): Promise<void> {
  const files = options.files;
  await app.register(multipart, { limits: { fileSize: options.maxBytes, files: 1, fields: 10, parts: 20 } });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HubcastError) return reply.code(err.status).send(errorBody(err.code, err.message));
    const e = err as { code?: string; statusCode?: number; message: string };
    if (e.code === 'FST_REQ_FILE_TOO_LARGE' || e.statusCode === 413) {
      return reply
        .code(413)
        .send(errorBody(ErrorCode.payloadTooLarge, `file is larger than ${options.maxBytes} bytes`));
    }
    if (e.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE' || e.statusCode === 406 || e.statusCode === 415) {
      return reply.code(415).send(errorBody(ErrorCode.unsupportedMediaType, 'send the file as multipart/form-data'));
    }
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send(errorBody(ErrorCode.badRequest, e.message));
    }
    req.log.error({ err }, 'upload failed');
    return reply.code(500).send(errorBody(ErrorCode.internal, 'internal error'));
  });

  // onRequest: a refused caller's file is never read.
  app.post('/realtime/binary/upload', { onRequest: options.guard }, async (req) => {
    if (!req.isMultipart()) {
      throw new HubcastError(ErrorCode.unsupportedMediaType, 'send the file as multipart/form-data', 415);
    }
    if (!BOUNDARY.test(req.headers['content-type'] ?? '')) {
      throw new HubcastError(
        ErrorCode.badRequest,
        'multipart/form-data needs a boundary parameter (1-70 characters)',
        400,
      );
    }
    let part: Awaited<ReturnType<typeof req.file>>;
    let bytes: Buffer;
    try {
      part = await req.file();
      if (part === undefined) throw new HubcastError(ErrorCode.badRequest, 'no file part in the form', 400);
      bytes = await part.toBuffer();
    } catch (err) {
      throw malformed(err);
    }
    const contentType = part.mimetype || 'application/octet-stream';
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(contentType.split(';')[0].trim())) {
      throw new HubcastError(
        ErrorCode.badRequest,
        `content type ${JSON.stringify(contentType).slice(0, 80)} is not a media type`,
        400,
      );
    }
    const mismatch = contentMismatch(contentType, bytes);
    if (mismatch !== null) throw new HubcastError(ErrorCode.unsupportedMediaType, mismatch, 415);
    const id = randomUUID();
    const file: StoredFile = {
      id,
      filename: sanitizeFilename(part.filename ?? ''),
      content_type: contentType,
      size: bytes.length,
      url: `/realtime/binary/files/${id}`,
    };
    await files.put(file, bytes);
    await options.publisher.publish(options.channel, SystemEvent.fileUploaded, file);
    return file;
  });

  app.get<{ Params: { id: string } }>('/realtime/binary/files/:id', async (req, reply) => {
    const id = req.params.id;
    const found = FILE_ID.test(id) ? await files.get(id) : null;
    if (found === null) throw new HubcastError(ErrorCode.notFound, 'no such file', 404);
    const { file: meta, bytes } = found;
    return reply
      .header('Content-Type', meta.content_type)
      .header('Content-Disposition', `attachment; filename="${meta.filename.replace(/[^\x20-\x7e]/g, '_')}"`)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Content-Security-Policy', "default-src 'none'; sandbox")
      .send(bytes);
  });
}
