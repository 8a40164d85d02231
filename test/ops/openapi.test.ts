/**
 * The OpenAPI document served at /openapi.json describes exactly the routes a
 * full gateway (catalog and chat applications included) registers, and its
 * request examples pass the zod schemas that validate real requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { chatApp } from '../../src/apps/chat/app.js';
import { OPERATIONS, RAW_ROUTES } from '../../src/openapi/document.js';
import { CATALOG_ROUTES } from '../../src/apps/catalog/route-docs.js';
import { CHAT_ROUTES } from '../../src/apps/chat/route-docs.js';
import { registeredRoutes } from '../../src/transports/http/route-list.js';
import { startGateway } from '../helpers/gateway.js';

test('every registered route is in the OpenAPI document and every documented route is registered', async () => {
  const gw = await startGateway({}, [catalogApp({ withGenerator: false }), chatApp()]);
  try {
    const OPERATIONS = gw.gateway.applications.routes;
    const routes = [...registeredRoutes(gw.gateway.app), ...RAW_ROUTES].map((r) => `${r.method} ${r.url}`);
    assert.ok(routes.length >= 20, `routes recorded: ${routes.length}`);
    const undocumented = routes.filter((r) => OPERATIONS[r] === undefined);
    assert.deepEqual(
      undocumented,
      [],
      'registered routes documented neither by the core (src/openapi/document.ts) nor by their application (routes)',
    );
    const unregistered = Object.keys(OPERATIONS).filter((k) => !routes.includes(k));
    assert.deepEqual(unregistered, [], 'documented routes no gateway registers');

    const res = await fetch(`${gw.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const doc = (await res.json()) as {
      openapi: string;
      info: { version: string };
      paths: Record<string, Record<string, { responses: object; operationId: string }>>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
    const described = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    assert.deepEqual(described.sort(), [...new Set(routes)].sort(), 'served document = registered routes');
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    for (const ops of Object.values(doc.paths))
      for (const o of Object.values(ops)) assert.ok(Object.keys(o.responses).length > 0);
    const page = await fetch(`${gw.url}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await page.text(), /fetch\('\/openapi\.json'\)/);
    // Documented POSTs answer as documented: the send example is accepted by the real route.
    const send = await fetch(`${gw.url}/realtime/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(OPERATIONS['POST /realtime/send'].body!.example),
    });
    assert.equal(send.status, 200, await send.text());
  } finally {
    await gw.close();
  }
});

test('every request example validates against its schema', () => {
  for (const [key, op] of Object.entries({ ...OPERATIONS, ...CATALOG_ROUTES, ...CHAT_ROUTES })) {
    if (op.body === undefined) continue;
    const r = op.body.schema.safeParse(op.body.example);
    assert.ok(r.success, `${key} example: ${r.success ? '' : r.error.message}`);
  }
});
