import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { sendBody, broadcastBody } from '../transports/http/realtime-routes.js';
import type { RouteEntry } from '../transports/http/route-list.js';
import type { RouteDoc } from '../application.js';
import { SSE_PATH } from '../transports/sse/transport.js';
import { POLL_PATH } from '../transports/poll/transport.js';
import { WS_PATH, SIGNALING_PATH } from '../transports/ws/transport.js';

type Json = Record<string, unknown>;

type Operation = RouteDoc;

const JSON_OK = { status: 200, type: 'application/json', description: 'OK' };
const HTML_OK = { status: 200, type: 'text/html', description: 'HTML page' };

const int = (description?: string) =>
  description ? { type: 'integer', minimum: 0, description } : { type: 'integer', minimum: 0 };
/** `?count=cluster` on the publish routes: the cluster-wide figures beside `delivered`. */
const COUNT_QUERY = {
  name: 'count',
  description:
    '"node" (default): `delivered` only, no wait; "cluster": also `delivered_cluster`, `nodes`, `nodes_answered`, after at most 1 s',
};
const CLUSTER_COUNT = {
  delivered: int("Connections on this node the event was queued for (this node's count, whatever `count` says)"),
  delivered_cluster: int(
    'With count=cluster: connections the event was queued for on every node that answered, this one included',
  ),
  nodes: int('With count=cluster: live nodes asked (plus any other that answered)'),
  nodes_answered: int(
    'With count=cluster: nodes whose count is in delivered_cluster; below `nodes`, the figure is a lower bound',
  ),
  id: { type: 'string', description: 'Event id (resume position), the same on every node' },
};
const SEND_OK = {
  ...JSON_OK,
  schema: {
    type: 'object',
    properties: { ...CLUSTER_COUNT, channel: { type: 'string' } },
    required: ['delivered', 'id', 'channel'],
  },
};
const BROADCAST_OK = {
  ...JSON_OK,
  schema: { type: 'object', properties: CLUSTER_COUNT, required: ['delivered', 'id'] },
};
const CONNECTIONS = {
  type: 'object',
  properties: { websocket: int(), sse: int(), tcp: int(), long_poll: int('Long-poll requests held'), total: int() },
};
const ADMIN_OK = {
  ...JSON_OK,
  schema: {
    type: 'object',
    properties: {
      node: { type: 'string', description: 'The node that gathered the answer' },
      generated_at: { type: 'string', format: 'date-time' },
      nodes_asked: int('Live nodes asked (plus any other that answered)'),
      nodes_answered: int('Nodes whose report is in `nodes`'),
      missing: { type: 'array', items: { type: 'string' }, description: 'Live nodes that did not answer within 1 s' },
      errors: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description: 'Nodes that answered with an error: node id → message',
      },
      nodes: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            node_id: { type: 'string' },
            uptime_seconds: int(),
            started_at: { type: 'string', format: 'date-time' },
            connections: CONNECTIONS,
            memory: {
              type: 'object',
              properties: { rss_bytes: int(), heap_used_bytes: int(), heap_total_bytes: int() },
            },
            channels: int('Channels with a subscriber on this node'),
            publications: int('Publications this node delivered since start'),
            messages_out: int('Deliveries to clients since start'),
            slowest: {
              type: 'array',
              description: "This node's connections with the most bytes waiting, most first",
              items: {
                type: 'object',
                properties: {
                  client_id: { type: 'string' },
                  transport: { enum: ['websocket', 'sse', 'tcp'] },
                  user_id: { type: ['string', 'null'] },
                  address: { type: ['string', 'null'] },
                  buffered_bytes: int('Bytes written to the connection, not yet taken by the client'),
                  buffer_limit_bytes: int('CLIENT_BUFFER_BYTES: past it the client is dropped as slow'),
                  replaying: { type: 'boolean', description: "A resume's replay is still being written to it" },
                  channels: int(),
                },
              },
            },
          },
        },
      },
      channels: {
        type: 'array',
        description: "Biggest channels cluster-wide, summed from each node's 200 biggest",
        items: {
          type: 'object',
          properties: {
            channel: { type: 'string' },
            subscribers: int('On every node that answered'),
            nodes: int('Nodes with a subscriber'),
          },
        },
      },
    },
  },
};

/**
 * Every HTTP operation the core can register, keyed `METHOD path` in
 * fastify's path form; applications describe theirs in their registration
 * (`routes`). A route registered without an entry, or an entry no
 * configuration registers, fails test/ops/openapi.test.ts.
 */
export const OPERATIONS: Record<string, Operation> = {
  'GET /realtime/sse-test': { summary: 'SSE test page', tag: 'pages', ok: HTML_OK },
  'GET /admin': {
    summary:
      'Admin page: nodes, channels, slowest clients (API key or local caller; with API_KEY the page asks for it)',
    tag: 'pages',
    ok: HTML_OK,
    errors: [403],
  },
  'GET /admin/cluster': {
    summary:
      "Every live node's report (uptime, connections, memory, slowest clients) and the biggest channels cluster-wide",
    tag: 'server-api',
    apiKey: true,
    query: [
      { name: 'top', description: 'Channels listed, 1-200 (default 20)', type: 'integer' },
      { name: 'slowest', description: 'Slowest clients per node, 1-50 (default 10)', type: 'integer' },
    ],
    ok: ADMIN_OK,
    errors: [400, 401, 403],
  },
  'GET /sdk/hubcast.js': {
    summary: 'The client SDK as one ES module (ETag, gzip)',
    tag: 'pages',
    ok: { status: 200, type: 'text/javascript', description: 'ES module' },
    errors: [404],
  },
  'GET /sdk/hubcast.js.map': { summary: 'Source map of the SDK module', tag: 'pages', ok: JSON_OK, errors: [404] },
  'GET /favicon.ico': {
    summary: 'The gateway icon',
    tag: 'pages',
    ok: { status: 200, type: 'image/x-icon', description: 'icon' },
  },
  'GET /healthz': { summary: 'Liveness: the process answers', tag: 'ops', ok: JSON_OK },
  'GET /readyz': {
    summary: 'Readiness: every component and the cluster bus are ready',
    tag: 'ops',
    ok: JSON_OK,
    errors: [503],
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    tag: 'ops',
    ok: { status: 200, type: 'text/plain', description: 'Prometheus text format' },
    errors: [401],
  },
  'GET /openapi.json': { summary: 'This document', tag: 'ops', ok: JSON_OK },
  'GET /docs': { summary: 'This document as a page', tag: 'pages', ok: HTML_OK },
  'GET /realtime/stats': {
    summary: 'Gateway statistics (every numeric field is also a metric)',
    tag: 'ops',
    ok: JSON_OK,
    errors: [401],
  },
  'POST /realtime/send': {
    summary: 'Publish an event to one channel or to one user',
    tag: 'server-api',
    apiKey: true,
    query: [COUNT_QUERY],
    body: { schema: sendBody, example: { channel: 'orders:42', event: 'order.shipped', data: { carrier: 'post' } } },
    ok: SEND_OK,
    errors: [400, 401, 409, 413, 422, 503],
  },
  'POST /realtime/broadcast': {
    summary: 'Publish an event to every connected client',
    tag: 'server-api',
    apiKey: true,
    query: [COUNT_QUERY],
    body: { schema: broadcastBody, example: { event: 'maintenance', data: { in_minutes: 5 } } },
    ok: BROADCAST_OK,
    errors: [400, 401, 409, 413, 422, 503],
  },
  'POST /realtime/binary/upload': {
    summary: 'Upload a file (multipart) and announce it on the upload channel',
    tag: 'server-api',
    apiKey: true,
    ok: JSON_OK,
    errors: [400, 401, 413, 415],
  },
  'GET /realtime/binary/files/:id': {
    summary: 'Download an uploaded file',
    tag: 'realtime',
    ok: { status: 200, type: 'application/octet-stream', description: 'The file' },
    errors: [404],
  },
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
    summary:
      'WebSocket upgrade; frames in the AsyncAPI document. Without Upgrade: the refusal the upgrade would get, else 426',
    tag: 'realtime',
    query: [{ name: 'token', description: 'JWT (or an auth frame after opening)' }],
    ok: { status: 101, type: 'application/json', description: 'Switching Protocols' },
    errors: [400, 401, 403, 404, 426, 429, 503],
  },
  [`GET ${SIGNALING_PATH}`]: {
    summary: 'WebSocket upgrade for WebRTC signaling between peers (without Upgrade: as above)',
    tag: 'realtime',
    query: [{ name: 'token', description: 'JWT' }],
    ok: { status: 101, type: 'application/json', description: 'Switching Protocols' },
    errors: [400, 401, 403, 404, 426, 429, 503],
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
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
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
export function buildOpenApi(
  routes: readonly RouteEntry[],
  operations: Readonly<Record<string, Operation>>,
  version = packageVersion(),
): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of [...routes, ...RAW_ROUTES]) {
    const op = operations[`${r.method} ${r.url}`];
    if (op === undefined) continue;
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params: Json[] = [...r.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    for (const q of op.query ?? [])
      params.push({
        name: q.name,
        in: 'query',
        required: false,
        description: q.description,
        schema: { type: q.type ?? 'string' },
      });
    const ok: NonNullable<Operation['ok']> = op.ok ?? JSON_OK;
    const responses: Json = {
      [String(ok.status)]: { description: ok.description, content: { [ok.type]: { schema: ok.schema ?? {} } } },
    };
    for (const status of op.errors ?? [])
      responses[String(status)] = {
        description: 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    const operation: Json = {
      operationId: `${r.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: op.summary,
      tags: [op.tag],
      responses,
    };
    if (params.length > 0) operation.parameters = params;
    if (op.apiKey) operation.security = [{ apiKey: [] }];
    if (op.body)
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: jsonSchema(op.body.schema), example: op.body.example } },
      };
    (paths[path] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hubcast',
      version,
      description:
        'Realtime event gateway: HTTP API. Frames on the WebSocket, SSE, TCP and long-poll channels: docs/asyncapi.json and docs/protocol.md.',
    },
    paths,
    components: {
      schemas: { Error: ERROR_BODY },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'API_KEY; when unset, loopback callers only' },
      },
    },
  };
}

function packageVersion(): string {
  // src/openapi/ and dist/openapi/ are both two levels below package.json.
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}
