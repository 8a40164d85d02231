import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { sendBody, broadcastBody } from '../transports/http/realtime-routes.js';
import type { RouteEntry } from '../transports/http/route-list.js';
import { SSE_PATH } from '../transports/sse/transport.js';
import { POLL_PATH } from '../transports/poll/transport.js';
import { WS_PATH, SIGNALING_PATH } from '../transports/ws/transport.js';

type Json = Record<string, unknown>;

interface Operation {
  summary: string;
  tag: 'realtime' | 'server-api' | 'catalog' | 'event-log' | 'chat' | 'ops' | 'pages';
  /** Server API: API_KEY bearer (or loopback when unset). */
  apiKey?: boolean;
  query?: { name: string; description: string; type?: 'string' | 'integer' }[];
  body?: { schema: z.ZodType; example: unknown };
  /** Main success answer: status and content type. */
  ok?: { status: number; type: string; description: string };
  errors?: number[];
}

const JSON_OK = { status: 200, type: 'application/json', description: 'OK' };
const HTML_OK = { status: 200, type: 'text/html', description: 'HTML page' };

/**
 * Every HTTP operation the gateway can register, keyed `METHOD path` in
 * fastify's path form. A route registered without an entry here, or an entry
 * no configuration registers, fails test/ops/openapi.test.ts.
 */
export const OPERATIONS: Record<string, Operation> = {
  'GET /': { summary: 'Dashboard page', tag: 'pages', ok: HTML_OK },
  'GET /realtime/sse-test': { summary: 'SSE test page', tag: 'pages', ok: HTML_OK },
  'GET /sdk/hubcast.js': { summary: 'The client SDK as one ES module (ETag, gzip)', tag: 'pages', ok: { status: 200, type: 'text/javascript', description: 'ES module' }, errors: [404] },
  'GET /sdk/hubcast.js.map': { summary: 'Source map of the SDK module', tag: 'pages', ok: JSON_OK, errors: [404] },
  'GET /favicon.ico': { summary: 'The gateway icon', tag: 'pages', ok: { status: 200, type: 'image/x-icon', description: 'icon' } },
  'GET /chat': { summary: 'Chat page (chat application)', tag: 'pages', ok: HTML_OK },
  'GET /healthz': { summary: 'Liveness: the process answers', tag: 'ops', ok: JSON_OK },
  'GET /readyz': { summary: 'Readiness: every component and the cluster bus are ready', tag: 'ops', ok: JSON_OK, errors: [503] },
  'GET /metrics': { summary: 'Prometheus metrics', tag: 'ops', ok: { status: 200, type: 'text/plain', description: 'Prometheus text format' }, errors: [401] },
  'GET /openapi.json': { summary: 'This document', tag: 'ops', ok: JSON_OK },
  'GET /docs': { summary: 'This document as a page', tag: 'pages', ok: HTML_OK },
  'GET /realtime/stats': { summary: 'Gateway statistics (every numeric field is also a metric)', tag: 'ops', ok: JSON_OK, errors: [401] },
  'POST /realtime/send': {
    summary: 'Publish an event to one channel or to one user',
    tag: 'server-api',
    apiKey: true,
    body: { schema: sendBody, example: { channel: 'product:42', event: 'price.changed', data: { price: 9.5 } } },
    ok: JSON_OK,
    errors: [400, 401, 409, 413, 422, 503],
  },
  'POST /realtime/broadcast': {
    summary: 'Publish an event to every connected client',
    tag: 'server-api',
    apiKey: true,
    body: { schema: broadcastBody, example: { event: 'maintenance', data: { in_minutes: 5 } } },
    ok: JSON_OK,
    errors: [400, 401, 409, 413, 422, 503],
  },
  'POST /realtime/binary/upload': {
    summary: 'Upload a file (multipart) and announce it on the upload channel',
    tag: 'server-api',
    apiKey: true,
    ok: JSON_OK,
    errors: [400, 401, 413, 415],
  },
  'GET /realtime/binary/files/:id': { summary: 'Download an uploaded file', tag: 'realtime', ok: { status: 200, type: 'application/octet-stream', description: 'The file' }, errors: [404] },
  'GET /realtime/channels/:channel/presence': {
    summary: 'Users present on a channel: the whole count, the members a page at a time',
    tag: 'server-api',
    apiKey: true,
    query: [
      { name: 'cursor', description: 'next_cursor of the previous page; omitted: the first page' },
      { name: 'limit', description: 'Members per page, 0–1000 (0: the count alone); default 100', type: 'integer' },
    ],
    ok: JSON_OK,
    errors: [400, 401, 404],
  },
  [`GET ${SSE_PATH}`]: {
    summary: 'Server-Sent Events stream (channels, token, Last-Event-ID resume)',
    tag: 'realtime',
    query: [
      { name: 'channels', description: 'Comma-separated channel names' },
      { name: 'token', description: 'JWT (or the Authorization header)' },
    ],
    ok: { status: 200, type: 'text/event-stream', description: 'Event stream; frames in the AsyncAPI document' },
    errors: [400, 401, 403, 429, 503],
  },
  [`GET ${POLL_PATH}`]: {
    summary: 'Long poll: events after a position, held until one arrives',
    tag: 'realtime',
    query: [
      { name: 'channels', description: 'Comma-separated channel names' },
      { name: 'since', description: 'Resume position from the previous answer' },
      { name: 'token', description: 'JWT (or the Authorization header)' },
    ],
    ok: JSON_OK,
    errors: [400, 401, 403, 429, 503],
  },
  [`GET ${WS_PATH}`]: {
    summary: 'WebSocket upgrade; frames in the AsyncAPI document',
    tag: 'realtime',
    query: [{ name: 'token', description: 'JWT (or an auth frame after opening)' }],
    ok: { status: 101, type: 'application/json', description: 'Switching Protocols' },
    errors: [400, 401, 403, 404, 429, 503],
  },
  [`GET ${SIGNALING_PATH}`]: {
    summary: 'WebSocket upgrade for WebRTC signaling between peers',
    tag: 'realtime',
    query: [{ name: 'token', description: 'JWT' }],
    ok: { status: 101, type: 'application/json', description: 'Switching Protocols' },
    errors: [400, 401, 403, 404, 429, 503],
  },
  'GET /api/products': { summary: 'List products', tag: 'catalog', ok: JSON_OK },
  'GET /api/products/:id': {
    summary: 'One product, now or as it was (version or at)',
    tag: 'catalog',
    query: [
      { name: 'version', description: 'State after this version', type: 'integer' },
      { name: 'at', description: 'State at this ISO 8601 time' },
    ],
    ok: JSON_OK,
    errors: [400, 404],
  },
  'GET /api/products/:id/photo': { summary: 'Product photo (PNG)', tag: 'catalog', ok: { status: 200, type: 'image/png', description: 'PNG image' }, errors: [404] },
  'GET /api/products/:id/events': {
    summary: "A product's event log",
    tag: 'event-log',
    query: [
      { name: 'after_version', description: 'Events after this version', type: 'integer' },
      { name: 'limit', description: 'At most this many events', type: 'integer' },
    ],
    ok: JSON_OK,
    errors: [400, 404],
  },
  'GET /api/events': {
    summary: 'The global event log',
    tag: 'event-log',
    query: [
      { name: 'after', description: 'Events after this sequence number', type: 'integer' },
      { name: 'limit', description: 'At most this many events', type: 'integer' },
    ],
    ok: JSON_OK,
    errors: [400],
  },
  'GET /api/chat/rooms': { summary: 'Chat rooms', tag: 'chat', ok: JSON_OK, errors: [401] },
  'GET /api/chat/rooms/:room/messages': {
    summary: 'Messages of a room, newest first',
    tag: 'chat',
    query: [
      { name: 'limit', description: 'At most this many messages', type: 'integer' },
      { name: 'before', description: 'Messages before this id' },
    ],
    ok: JSON_OK,
    errors: [400, 401, 403, 404],
  },
  'POST /api/chat/rooms/:room/messages': { summary: 'Post a message to a room', tag: 'chat', ok: { status: 201, type: 'application/json', description: 'Created' }, errors: [400, 401, 403, 404, 429] },
  'GET /api/chat/rooms/:room/members': {
    summary: 'Members present in a room: the whole count, the members a page at a time',
    tag: 'chat',
    query: [
      { name: 'cursor', description: 'next_cursor of the previous page; omitted: the first page' },
      { name: 'limit', description: 'Members per page, 0–1000; default 100', type: 'integer' },
    ],
    ok: JSON_OK,
    errors: [400, 401, 403, 404],
  },
};

/** Routes answered outside fastify (the node server hands them over first): always present. */
export const RAW_ROUTES: readonly RouteEntry[] = [
  { method: 'GET', url: SSE_PATH },
  { method: 'GET', url: POLL_PATH },
  { method: 'GET', url: WS_PATH },
  { method: 'GET', url: SIGNALING_PATH },
];

const ERROR_BODY = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
  required: ['error'],
};

function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

/**
 * The OpenAPI 3.1 document of the given routes (those this gateway
 * registered), request bodies from the zod schemas that validate them.
 */
export function buildOpenApi(routes: readonly RouteEntry[], version = packageVersion()): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of [...routes, ...RAW_ROUTES]) {
    const op = OPERATIONS[`${r.method} ${r.url}`];
    if (op === undefined) continue;
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params: Json[] = [...r.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    for (const q of op.query ?? []) params.push({ name: q.name, in: 'query', required: false, description: q.description, schema: { type: q.type ?? 'string' } });
    const ok = op.ok ?? JSON_OK;
    const responses: Json = { [String(ok.status)]: { description: ok.description, content: { [ok.type]: { schema: {} } } } };
    for (const status of op.errors ?? []) responses[String(status)] = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    const operation: Json = { operationId: `${r.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`, summary: op.summary, tags: [op.tag], responses };
    if (params.length > 0) operation.parameters = params;
    if (op.apiKey) operation.security = [{ apiKey: [] }];
    if (op.body) operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(op.body.schema), example: op.body.example } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'hubcast', version, description: 'Realtime event gateway: HTTP API. Frames on the WebSocket, SSE, TCP and long-poll channels: docs/asyncapi.json and docs/protocol.md.' },
    paths,
    components: {
      schemas: { Error: ERROR_BODY },
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API_KEY; when unset, loopback callers only' } },
    },
  };
}

function packageVersion(): string {
  // src/openapi/ and dist/openapi/ are both two levels below package.json.
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
