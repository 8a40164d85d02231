/**
 * Acceptance (docs/protocol.md "Processes and configuration", issue 3): bad configuration fails at start with
 * one clear line naming the variable and a non-zero exit code; SIGTERM on a
 * running gateway exits 0 within 10 s, closing WS clients with 1012 and
 * ending SSE streams.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Cleanup, TestProducer, changeEvent, getProduct, isolatedServices } from '../helpers/e2e.js';
import { killAll, spawnHubcast, startHubcast } from '../helpers/processes.js';
import { TestSse } from '../helpers/sse-client.js';
import { TestWs } from '../helpers/ws-client.js';

describe('bad configuration', { timeout: 60_000 }, () => {
  after(killAll);

  const cases: Array<{ args: string[]; env: Record<string, string>; variable: string }> = [
    { args: ['gateway'], env: { PORT: 'abc' }, variable: 'PORT' },
    { args: ['gateway'], env: { PORT: '70000' }, variable: 'PORT' },
    { args: ['gateway'], env: { DATABASE_URL: 'mysql://x' }, variable: 'DATABASE_URL' },
    { args: ['gateway'], env: { BROKER_URL: 'http://127.0.0.1:5672' }, variable: 'BROKER_URL' },
    { args: ['gateway'], env: { REDIS_URL: 'not a url' }, variable: 'REDIS_URL' },
    { args: ['start'], env: { GENERATOR_INTERVAL_MS: '-1' }, variable: 'GENERATOR_INTERVAL_MS' },
    { args: ['start'], env: { GENERATOR_INTERVAL_MS: '0' }, variable: 'GENERATOR_INTERVAL_MS' },
    { args: ['gateway'], env: { WEBSOCKET_ENABLED: 'maybe' }, variable: 'WEBSOCKET_ENABLED' },
    { args: ['gateway'], env: { REALTIME_MAX_CONNECTIONS: '10k' }, variable: 'REALTIME_MAX_CONNECTIONS' },
    { args: ['generator', '--rate', 'fast'], env: { BROKER_URL: 'amqp://127.0.0.1:1' }, variable: '--rate' },
    { args: ['generator'], env: {}, variable: 'BROKER_URL' },
  ];

  for (const c of cases) {
    const shown = [...Object.entries(c.env).map(([k, v]) => `${k}=${v}`), 'hubcast', ...c.args].join(' ');
    it(`${shown} → one line naming ${c.variable}, exit ≠ 0`, async () => {
      const proc = spawnHubcast(c.args, c.env);
      try {
        const exit = await proc.waitExit(10_000);
        assert.notEqual(exit.code, 0, proc.tail());
        assert.equal(exit.signal, null);
        const errLines = proc.stderr.trim().split('\n');
        assert.equal(errLines.length, 1, `exactly one line on stderr:\n${proc.stderr}`);
        assert.ok(errLines[0].includes(c.variable), `names ${c.variable}: ${errLines[0]}`);
        assert.equal(proc.stdout.trim(), '', 'nothing else printed');
      } finally {
        await proc.stop();
      }
    });
  }
});

describe('SIGTERM on a running gateway', { timeout: 60_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('exits 0 within 10 s; WS clients get 1012, SSE streams end', async () => {
    const { vhost, env } = await isolatedServices(cleanup);
    const gw = await startHubcast('gateway', env);
    cleanup.add(() => gw.stop());

    const clients = await Promise.all([TestWs.open(gw.wsUrl), TestWs.open(gw.wsUrl), TestWs.open(gw.wsUrl)]);
    cleanup.add(() => {
      for (const c of clients) c.close();
    });
    for (const c of clients) {
      await c.next((f) => f.type === 'connected');
      assert.equal((await c.command('join_channel', { channel: 'products' })).ok, true);
    }
    const sse = new TestSse(`${gw.url}/realtime/events?channels=products`, ['system', 'product.updated']);
    cleanup.add(() => sse.close());
    await sse.next((e) => e.type === 'system');
    let sseErrors = 0;
    sse.es.addEventListener('error', () => sseErrors++);

    // The pipeline is live right up to the signal.
    const before = await getProduct(gw.url, 1);
    const producer = await TestProducer.open(vhost.url);
    cleanup.add(() => producer.close());
    await producer.publish(changeEvent(1, { stock: 1 }));
    for (const c of clients) await c.next((f) => f.type === 'event' && f.data?.version === before.version + 1, 10_000);

    const signalled = Date.now();
    gw.signal('SIGTERM');
    const exit = await gw.waitExit(10_000);
    const tookMs = Date.now() - signalled;
    assert.deepEqual(exit, { code: 0, signal: null }, gw.tail());
    assert.ok(tookMs < 10_000, `exited in ${tookMs} ms`);
    for (const c of clients) assert.equal(await c.waitClosed(5_000), 1012, 'service restart close code');
    // The stream was ended by the server: the EventSource noticed and is trying to reconnect.
    const deadline = Date.now() + 5_000;
    while (sseErrors === 0 && sse.errors === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(sseErrors + sse.errors > 0, 'the SSE client saw its stream end');
    assert.ok(gw.logs.some((r) => r.msg === 'shutting down' && r.signal === 'SIGTERM'));
    assert.equal(gw.logs.filter((r) => r.level >= 50).length, 0, `no error logs:\n${gw.tail()}`);
  });

  it('`hubcast start` (embedded) also exits 0 on SIGTERM', async () => {
    const server = await startHubcast('start', { GENERATOR_INTERVAL_MS: '200' }, { timeoutMs: 45_000 });
    cleanup.add(() => server.stop());
    const client = await TestWs.open(server.wsUrl);
    cleanup.add(() => client.close());
    await client.next((f) => f.type === 'connected');
    assert.equal((await client.command('join_channel', { channel: 'products' })).ok, true);
    await client.next((f) => f.type === 'event' && f.event === 'product.updated', 10_000);
    server.signal('SIGTERM');
    assert.deepEqual(await server.waitExit(10_000), { code: 0, signal: null }, server.tail());
    assert.equal(await client.waitClosed(5_000), 1012);
  });
});
