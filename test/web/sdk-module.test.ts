import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startGateway, postJson, type RunningGateway } from '../helpers/gateway.js';
import { closeAll, launchBrowser, openPage, serveSite, type TestSite } from '../helpers/browser.js';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { SECRET, sign } from '../auth/tokens.js';

let gw: RunningGateway;
let browser: Browser;
/** A page on another origin (another port) that knows nothing of hubcast but its URL. */
let site: TestSite;
before(async () => {
  gw = await startGateway({ generatorIntervalMs: 200 }, [catalogApp({ withGenerator: true })]);
  browser = await launchBrowser();
  site = await serveSite((req, res) => {
    const gateway = new URL(req.url ?? '/', 'http://x').searchParams.get('gateway') ?? '';
    if (req.url?.startsWith('/refused')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return void res.end(`<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">
import { WSClient } from '${gateway}/sdk/hubcast.js';
window.states = [];
window.ws = new WSClient('${gateway.replace('http', 'ws')}/realtime/ws', { token: 'not-a-token', minReconnectDelay: 50, maxReconnectDelay: 60000 });
window.ws.onStateChange(({ to }) => window.states.push(to));
window.ws.connect().then(() => { window.joined = window.ws.joinChannel('refused:page'); });
</script>`);
    }
    if (req.url?.startsWith('/restart')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return void res.end(`<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">
import { createSSEClient } from '${gateway}/sdk/hubcast.js';
window.seen = [];
window.sse = createSSEClient('${gateway}', { channels: ['restart:page'], minReconnectDelay: 50, maxReconnectDelay: 500 });
window.sse.onEvent('n', (e) => window.seen.push(e.data));
</script>`);
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>shop</title><ul id="log"></ul>
<script type="module">
import { createSSEClient, WSClient } from '${gateway}/sdk/hubcast.js';
window.updates = [];
window.wsUpdates = [];
const sse = createSSEClient('${gateway}/realtime/events?channels=products');
sse.onEvent('product.updated', (e) => { window.updates.push(e.data); });
window.sse = sse;
const ws = new WSClient('${gateway.replace('http', 'ws')}/realtime/ws');
ws.onMessage('event', (e) => { if (e.event === 'product.updated') window.wsUpdates.push(e.data); });
await ws.connect();
await ws.sendCommand('join_channel', { channel: 'products' });
window.ready = true;
</script>`);
  });
});
after(() => closeAll(browser, gw, site));

test('a page on another origin loads /sdk/hubcast.js as a module and receives product updates over SSE and WS', async () => {
  const { page, problems } = await openPage(browser);
  page.on('requestfailed', (r) => problems.push(`${r.url()} ${r.failure()?.errorText}`));
  const started = Date.now();
  await page.goto(`${site.url}?gateway=${encodeURIComponent(gw.url)}`);
  await page.waitForFunction(
    () => (window as any).updates?.length > 0 && (window as any).wsUpdates?.length > 0,
    undefined,
    { timeout: 15_000 },
  );
  console.log(`first product update in the page after ${Date.now() - started} ms`);
  const update = await page.evaluate(() => (window as any).updates[0]);
  assert.equal(typeof update.id, 'number');
  assert.equal(typeof update.price, 'number');
  assert.equal(await page.evaluate(() => (window as any).sse.state), 'connected');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the module is served with an ETag (304 on revalidation), gzip, CORS and a linked source map', async () => {
  const res = await fetch(`${gw.url}/sdk/hubcast.js`, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const etag = res.headers.get('etag');
  assert.match(etag ?? '', /^"[\w-]+"$/);
  const code = await res.text();
  assert.match(code, /export\s*\{/);
  assert.match(code, /\/\/# sourceMappingURL=hubcast\.js\.map\s*$/);
  const again = await fetch(`${gw.url}/sdk/hubcast.js`, { headers: { 'if-none-match': etag! } });
  assert.equal(again.status, 304);
  assert.equal((await again.text()).length, 0);
  const gz = await fetch(`${gw.url}/sdk/hubcast.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gz.headers.get('content-encoding'), 'gzip');
  assert.equal(await gz.text(), code, 'fetch inflates it to the same module');
  const map = await fetch(`${gw.url}/sdk/hubcast.js.map`);
  assert.equal(map.status, 200);
  const parsed = await map.json();
  assert.ok(
    parsed.sources.some((s: string) => s.endsWith('client/src/ws-client.ts')),
    'the map points at the TypeScript sources',
  );
  console.log(
    `/sdk/hubcast.js: ${code.length} bytes raw, ${Number(gz.headers.get('content-length') ?? 0) || '?'} gzipped`,
  );
});

test('/favicon.ico answers with an icon, so no page logs a 404 for it', async () => {
  const res = await fetch(`${gw.url}/favicon.ico`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/x-icon');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 6)], [0, 0, 1, 0, 1, 0], 'an ICO header with one image');
  assert.equal(bytes.subarray(22, 26).toString('latin1'), '\x89PNG');
});

test("a browser's WebSocket hides a refused handshake's status: the module asks once, reads unauthorized, and setToken connects", async () => {
  const secured = await startGateway({ jwtSecret: SECRET });
  const page = await browser.newPage();
  try {
    await page.goto(`${site.url}refused?gateway=${encodeURIComponent(secured.url)}`);
    await page.waitForFunction(() => (window as any).ws?.state === 'unauthorized', undefined, { timeout: 10_000 });
    const refused = Number(secured.gateway.stats().auth_failures);
    // Waiting is the point: an outage would be retried within the backoff (50 ms and up).
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(Number(secured.gateway.stats().auth_failures), refused, 'no handshake retried while unauthorized');
    assert.deepEqual(await page.evaluate(() => (window as any).states), ['connecting', 'unauthorized']);
    const token = await sign('pat', { channels: ['refused:*'] });
    await page.evaluate((t) => (window as any).ws.setToken(t), token);
    await page.waitForFunction(() => (window as any).ws.state === 'connected', undefined, { timeout: 10_000 });
    await page.evaluate(() => (window as any).joined);
    await postJson(`${secured.url}/realtime/send`, { channel: 'refused:page', event: 'n', data: 1 });
  } finally {
    await page.close();
    await secured.close();
  }
});

test('the module in a page rides out a gateway restart: the SSE client resumes with nothing missed or doubled', async () => {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  // The restarted gateway keeps its history in the shared DATA_DIR (graceful close).
  const config = { port, dataDir: await mkdtemp(join(tmpdir(), 'hubcast-web-restart-')), sseRetryMs: 100 };
  let first: RunningGateway | null = await startGateway(config);
  const base = `http://127.0.0.1:${port}`;
  const page = await browser.newPage();
  try {
    await page.goto(`${site.url}restart?gateway=${encodeURIComponent(base)}`);
    await page.waitForFunction(() => (window as any).sse?.state === 'connected');
    for (let n = 1; n <= 3; n++)
      await postJson(`${base}/realtime/send`, { channel: 'restart:page', event: 'n', data: n });
    await page.waitForFunction(() => (window as any).seen.length === 3);
    await first.close();
    first = null;
    await page.waitForFunction(() => (window as any).sse.state !== 'connected');
    const second = await startGateway(config);
    try {
      for (let n = 4; n <= 6; n++)
        await postJson(`${base}/realtime/send`, { channel: 'restart:page', event: 'n', data: n });
      await page.waitForFunction(() => (window as any).seen.length >= 6, undefined, { timeout: 10_000 });
      assert.deepEqual(await page.evaluate(() => (window as any).seen), [1, 2, 3, 4, 5, 6]);
      assert.equal(await page.evaluate(() => (window as any).sse.state), 'connected');
    } finally {
      await page.close();
      await second.close();
    }
  } finally {
    await first?.close();
  }
});
