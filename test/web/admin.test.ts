/**
 * The admin page and its JSON on two gateway nodes sharing the Redis bus: every node's report
 * (connections per transport, memory, slowest clients), channels summed cluster-wide; the page
 * runs on the SDK module in headless Chromium with no console error or failed request; with
 * API_KEY the page asks for the key.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { launchBrowser } from '../helpers/browser.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { TestSse } from '../helpers/sse-client.js';
import { TestWs } from '../helpers/ws-client.js';

let a: RunningGateway;
let b: RunningGateway;
let browser: Browser;
const clients: Array<{ close(): void }> = [];
/** A client on node A that stopped reading: its bytes pile up at the node. */
let stalled: TestWs;

const json = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as any };
};

async function ws(gw: RunningGateway, channels: string[]): Promise<TestWs> {
  const c = await TestWs.open(gw.wsUrl);
  clients.push(c);
  await c.next((f) => f.type === 'connected');
  for (const channel of channels) await c.command('join_channel', { channel });
  return c;
}

before(async () => {
  // A short history: the bulk sends below need not stay in the shared Redis.
  const shared = {
    redisUrl: serviceUrls().redisUrl,
    redisPrefix: redisPrefix(),
    clientBufferBytes: 256 * 1024 * 1024,
    historySize: 8,
  };
  a = await startGateway({ ...shared, nodeId: 'admin-a' });
  b = await startGateway({ ...shared, nodeId: 'admin-b' });
  browser = await launchBrowser();
  await waitFor(() => a.gateway.cluster.nodes().length === 2, 8000, 'node A to list node B');
  await ws(a, ['orders', 'chat:lobby']);
  await ws(a, ['orders', 'prices:eu']);
  stalled = await ws(a, ['bulk']);
  for (const channels of ['orders,chat:lobby', 'orders', 'prices:eu,prices:us']) {
    const sse = new TestSse(`${b.url}/realtime/events?channels=${channels}`);
    clients.push(sse);
  }
  await waitFor(() => b.gateway.hub.subscriberCount('orders') === 2, 5000, 'the SSE clients on B');
  // Stop reading and send it more than loopback's socket buffers hold: the rest waits at node A.
  (stalled.ws as any)._socket.pause();
  const chunk = 'x'.repeat(256 * 1024);
  for (let i = 0; i < 48; i++) await postJson(`${a.url}/realtime/send`, { channel: 'bulk', data: chunk });
});
after(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await a?.close();
  await b?.close();
});

test('GET /admin/cluster on either node: both nodes, channels summed over the cluster, the stalled client first among the slowest', async () => {
  let view: any;
  await waitFor(
    async () => {
      view = (await json(`${b.url}/admin/cluster`)).body;
      return (
        view.nodes_answered === 2 &&
        view.nodes.find((n: any) => n.node_id === 'admin-a')?.slowest[0]?.buffered_bytes > 0
      );
    },
    10_000,
    'both nodes answering, the stalled client buffered at A',
  );
  assert.equal(view.node, 'admin-b');
  assert.deepEqual(view.missing, []);
  assert.deepEqual(
    view.nodes.map((n: any) => n.node_id),
    ['admin-a', 'admin-b'],
  );
  const [na, nb] = view.nodes;
  assert.deepEqual(na.connections, { websocket: 3, sse: 0, tcp: 0, long_poll: 0, total: 3 });
  assert.deepEqual(nb.connections, { websocket: 0, sse: 3, tcp: 0, long_poll: 0, total: 3 });
  assert.ok(na.memory.rss_bytes > 10e6 && na.memory.heap_used_bytes > 1e6, 'memory figures');
  assert.ok(na.uptime_seconds >= 0 && !Number.isNaN(Date.parse(na.started_at)));
  const byName = (name: string) => view.channels.find((c: any) => c.channel === name);
  assert.deepEqual(view.channels[0], { channel: 'orders', subscribers: 4, nodes: 2 });
  assert.deepEqual(byName('chat:lobby'), { channel: 'chat:lobby', subscribers: 2, nodes: 2 });
  assert.deepEqual(byName('prices:eu'), { channel: 'prices:eu', subscribers: 2, nodes: 2 });
  assert.deepEqual(byName('prices:us'), { channel: 'prices:us', subscribers: 1, nodes: 1 });
  assert.deepEqual(byName('bulk'), { channel: 'bulk', subscribers: 1, nodes: 1 });
  assert.equal(view.channels.length, 5);
  const slow = na.slowest[0];
  assert.equal(slow.transport, 'websocket');
  assert.equal(slow.buffer_limit_bytes, 256 * 1024 * 1024);
  assert.equal(slow.channels, 1);
  assert.equal(slow.address, '127.0.0.1');
  assert.ok(
    na.slowest.slice(1).every((c: any) => c.buffered_bytes <= slow.buffered_bytes),
    'most buffered first',
  );
  assert.equal(nb.slowest.length, 3);
  assert.ok(nb.slowest.every((c: any) => c.transport === 'sse'));

  // Callers within a second share one gathering: the nodes walk their connections once for both.
  const [first, second] = await Promise.all([
    json(`${a.url}/admin/cluster?top=3`),
    json(`${a.url}/admin/cluster?top=4`),
  ]);
  assert.deepEqual(first.body.nodes, second.body.nodes, 'the same reports (heap figures included)');
  assert.equal(first.body.generated_at, second.body.generated_at);
  assert.deepEqual([first.body.channels.length, second.body.channels.length], [3, 4], 'cut per request');

  const cut = (await json(`${a.url}/admin/cluster?top=1&slowest=1`)).body;
  assert.deepEqual(
    cut.channels.map((c: any) => c.channel),
    ['orders'],
  );
  assert.ok(cut.nodes.every((n: any) => n.slowest.length === 1));
  for (const bad of ['top=0', 'top=201', 'slowest=x']) {
    const r = await json(`${a.url}/admin/cluster?${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.body.error.code, 'bad_request');
  }
});

/** A GET with headers fetch() will not send (Host). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
  });
  return problems;
}

test('the admin page shows the nodes, the channels and the slowest clients, on the SDK module, with no error', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = watch(page);
  const loaded: string[] = [];
  page.on('response', (r) => loaded.push(new URL(r.url()).pathname));
  const started = Date.now();
  const response = await page.goto(`${a.url}/admin`);
  assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'self'/);
  await page.waitForFunction(
    () =>
      document.querySelectorAll('#node-rows tr').length === 2 &&
      document.getElementById('dot')?.className === 'connected',
  );
  console.log(`admin page: both nodes shown ${Date.now() - started} ms after navigation`);
  const nodes = await page.$$eval('#node-rows tr', (rows) =>
    rows.map((r) => [...r.children].map((td) => td.textContent)),
  );
  assert.equal(nodes[0][0], 'admin-a (this page)');
  assert.equal(nodes[1][0], 'admin-b');
  assert.deepEqual(nodes[0].slice(2, 7), ['3', '0', '0', '0', '3'], 'websocket · sse · tcp · long-poll · total on A');
  assert.deepEqual(nodes[1].slice(2, 7), ['0', '3', '0', '0', '3']);
  const channels = await page.$$eval('#channel-rows tr', (rows) =>
    rows.map((r) => [...r.children].slice(0, 3).map((td) => td.textContent)),
  );
  assert.deepEqual(channels[0], ['orders', '4', '2']);
  const slow = await page.$$eval('#slow-rows tr', (rows) =>
    rows.map((r) => [...r.children].map((td) => td.textContent)),
  );
  assert.equal(slow[0][0], 'admin-a');
  assert.match(slow[0][3] ?? '', /MiB|KiB/, 'the stalled client, its buffered bytes first');
  assert.equal(await page.$eval('#conns', (el) => el.textContent), '6');
  assert.ok(loaded.includes('/sdk/hubcast.js'), 'the page runs on the SDK module');
  // It keeps refreshing: a new client on B shows up without a reload.
  await ws(b, ['orders']);
  await page.waitForFunction(() => document.getElementById('conns')?.textContent === '7', undefined, { timeout: 8000 });
  // A click on a channel tails it live through the SDK's SSE client: events published on either node.
  await page.click('#channel-rows tr[data-channel="orders"]');
  await waitFor(() => a.gateway.hub.subscriberCount('orders') === 3, 5000, "the page's stream on node A");
  await postJson(`${b.url}/realtime/send`, { channel: 'orders', event: 'order.created', data: { id: 7, total: 19.9 } });
  await postJson(`${a.url}/realtime/send`, { channel: 'orders', event: 'order.paid', data: { id: 7 } });
  await page.waitForFunction(() => document.querySelectorAll('#tail-log li').length === 2);
  const tail = await page.$$eval('#tail-log li', (lis) => lis.map((li) => li.textContent ?? ''));
  assert.match(tail[0], /#\d+ {2}order\.paid {2}{"id":7}$/, 'newest first');
  assert.match(tail[1], /#\d+ {2}order\.created {2}{"id":7,"total":19\.9}$/);
  assert.equal(await page.$eval('#tail-state', (el) => el.textContent), 'connected');
  await page.waitForFunction(() => document.getElementById('conns')?.textContent === '8', undefined, { timeout: 8000 });
  if (process.env.HUBCAST_DOCS_SCREENSHOTS === '1') await page.screenshot({ path: 'docs/admin.png', fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('with API_KEY: /admin/cluster needs the key; the page asks for it, then shows the cluster', async () => {
  const keyed = await startGateway({ apiKey: 'admin-test-key', nodeId: 'keyed' });
  try {
    assert.equal((await json(`${keyed.url}/admin/cluster`)).status, 401);
    const ok = await json(`${keyed.url}/admin/cluster`, { authorization: 'Bearer admin-test-key' });
    assert.equal(ok.status, 200);
    assert.deepEqual(
      ok.body.nodes.map((n: any) => n.node_id),
      ['keyed'],
    );
    const page = await browser.newPage();
    const problems = watch(page);
    await page.goto(`${keyed.url}/admin`);
    await page.waitForSelector('#keyform:not([hidden])');
    assert.equal(await page.$eval('#dot', (el) => el.className), 'unauthorized');
    await page.fill('#key', 'admin-test-key');
    await page.click('#keyform button');
    await page.waitForFunction(
      () =>
        document.querySelectorAll('#node-rows tr').length === 1 &&
        document.getElementById('dot')?.className === 'connected',
    );
    assert.equal(await page.$eval('#keyform', (el) => (el as HTMLFormElement).hidden), true);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await keyed.close();
  }
});

test('without API_KEY, the page and its data are for local callers only', async () => {
  // A DNS-rebound page names its own host: refused like the rest of the server API.
  for (const path of ['/admin', '/admin/cluster']) {
    const r = await rawGet(`${a.url}${path}`, { host: 'admin.example.com' });
    assert.equal(r.status, 403, path);
    assert.equal(JSON.parse(r.body).error.code, 'forbidden');
  }
  assert.equal((await rawGet(`${a.url}/admin`, {})).status, 200, 'a local caller gets it');
});
