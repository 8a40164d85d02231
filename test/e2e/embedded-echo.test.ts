/**
 * Acceptance (issue 3): embedded mode. `hubcast start` (what `npm start` runs
 * after building) with no service URLs — PGlite, in-process broker and cache —
 * and `examples/echo-sse.js` and `examples/echo-ws.js` as children: product
 * updates show up on their stdout within two generator ticks of connecting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cleanup } from '../helpers/e2e.js';
import { getJson } from '../helpers/gateway.js';
import { killAll, spawnScript, startHubcast } from '../helpers/processes.js';

const TICK_MS = 500;
/** The name is printed as a JSON string (`Wool Felt Laptop Sleeve 14\"`): captured with its quotes, parsed back. */
const LINE = /^product (\d+) ("(?:[^"\\]|\\.)*") price=(\d+\.\d{2}) stock=(\d+) version=(\d+)$/;

describe('embedded mode (npm start) with the echo clients', { timeout: 90_000 }, () => {
  const cleanup = new Cleanup();
  let server: Awaited<ReturnType<typeof startHubcast>>;
  before(async () => {
    // No DATABASE_URL/BROKER_URL/REDIS_URL: childEnv strips them, so this is a bare machine's setup.
    server = await startHubcast('start', { GENERATOR_INTERVAL_MS: String(TICK_MS) }, { timeoutMs: 45_000 });
    cleanup.add(() => server.stop());
  });
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('runs on PGlite, the in-process broker and cache', () => {
    const listening = server.logs.find((r) => r.msg === 'hubcast gateway listening')!;
    assert.equal(listening.mode, 'start');
    assert.ok(
      server.logs.some((r) => r.driver === 'pglite'),
      `embedded PostgreSQL chosen:\n${server.tail()}`,
    );
  });

  for (const script of ['examples/echo-sse.js', 'examples/echo-ws.js']) {
    it(`${script} prints product updates within two ticks`, async () => {
      const echo = spawnScript(script, [server.url]);
      cleanup.add(() => echo.stop());
      // Start-up is not counted: the clock starts once the client is connected.
      await echo.waitForLine((l) => l.startsWith('connected to '), 15_000, `${script} to connect`, 'stderr');
      const connectedAt = Date.now();

      const lines = () => echo.stdout.split('\n').filter((l) => LINE.test(l));
      await echo.until(
        () => lines().length >= 1 || undefined,
        2 * TICK_MS,
        `a product update within two ticks (${2 * TICK_MS} ms)`,
      );
      const firstAfterMs = Date.now() - connectedAt;
      // And they keep coming, one per tick (with slack for a busy machine).
      await echo.until(() => lines().length >= 3 || undefined, 3 * TICK_MS + 1000, 'three updates');

      const printed = lines().map((l) => {
        const [, id, quotedName, price, stock, version] = LINE.exec(l)!;
        return {
          id: Number(id),
          name: JSON.parse(quotedName) as string,
          price: Number(price),
          stock: Number(stock),
          version: Number(version),
        };
      });
      // What the echo client printed is what the API serves (the same product, that version or later).
      for (const p of printed) {
        const { status, body } = await getJson(`${server.url}/api/products/${p.id}`);
        assert.equal(status, 200);
        assert.equal(body.name, p.name);
        assert.ok(
          body.version >= p.version && p.version >= 2,
          `version ${p.version} of product ${p.id} (API has ${body.version})`,
        );
      }
      assert.equal(echo.exit, null);
      assert.equal(server.exit, null);
      assert.ok(firstAfterMs <= 2 * TICK_MS);
    });
  }

  it('the printed name is the product name, quotes and all', async () => {
    // Seed data has a name with a double quote (`Wool Felt Laptop Sleeve 14"`): the echo clients
    // print names as JSON strings, and a reader must get the name back unchanged.
    const { body } = await getJson(`${server.url}/api/products`);
    const list = (Array.isArray(body) ? body : body.products) as Array<{ name: string }>;
    const quoted = list.find((p) => p.name.includes('"'));
    assert.ok(quoted, 'the seed data has a name with a double quote');
    const line = `product 1 ${JSON.stringify(quoted.name)} price=1.00 stock=1 version=2`;
    assert.equal(JSON.parse(LINE.exec(line)![2]), quoted.name);
  });
});
