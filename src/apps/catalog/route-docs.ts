import type { RouteDoc } from '../../application.js';

const JSON_OK = { status: 200, type: 'application/json', description: 'OK' };

/** The catalog's and the event log's routes on `/openapi.json` (the catalog registers them with its routes). */
export const CATALOG_ROUTES: Record<string, RouteDoc> = {
  'GET /': {
    summary: 'Dashboard page (the live catalog)',
    tag: 'pages',
    ok: { status: 200, type: 'text/html', description: 'HTML page' },
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
  'GET /api/products/:id/photo': {
    summary: 'Product photo (PNG)',
    tag: 'catalog',
    ok: { status: 200, type: 'image/png', description: 'PNG image' },
    errors: [404],
  },
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
};
