import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { launchBrowser } from '../helpers/browser.js';
import { catalogApp } from '../../src/apps/catalog/app.js';

let gw: RunningGateway;
let browser: Browser;
before(async () => {
  gw = await startGateway({ generatorIntervalMs: 200 }, [catalogApp({ withGenerator: true })]);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await gw?.close();
});

test('the SSE test page lists events live and renders data as text, never HTML', async () => {
  const page = await browser.newPage();
  await page.goto(`${gw.url}/realtime/sse-test`);
  await page.fill('#channels', 'page:test');
  await page.click('button');
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'open');
  const hostile = '<img src=x onerror="window.__owned=1"><b>bold</b>';
  await postJson(`${gw.url}/realtime/send`, { channel: 'page:test', data: hostile });
  await postJson(`${gw.url}/realtime/send`, { channel: 'page:test', data: { plain: true } });
  await page.waitForFunction(() => (document.getElementById('log')?.textContent ?? '').includes('"plain":true'));
  const log = await page.$eval('#log', (el) => ({
    text: el.textContent ?? '',
    imgs: el.querySelectorAll('img,b').length,
  }));
  assert.ok(log.text.includes(hostile), 'the markup shows as text');
  assert.equal(log.imgs, 0, 'no element was injected');
  assert.equal(await page.evaluate(() => (window as any).__owned), undefined);
  await page.close();
});

test('the dashboard shows the catalog and flashes live product updates', async () => {
  const page = await browser.newPage();
  const response = await page.goto(`${gw.url}/`);
  assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'self'/);
  assert.equal(response?.headers()['x-content-type-options'], 'nosniff');
  await page.waitForFunction(() => document.querySelectorAll('#rows tr').length >= 50);
  await page.waitForFunction(
    () => /\d+ live updates/.test(document.getElementById('stats')?.textContent ?? ''),
    undefined,
    { timeout: 10_000 },
  );
  const versions = await page.$$eval('#rows tr', (rows) => rows.map((r) => Number((r as HTMLElement).dataset.version)));
  assert.ok(
    versions.some((v) => v > 1),
    'some product moved past version 1',
  );
  const photoOk = await page.$eval(
    '#rows img',
    (img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0,
  );
  assert.ok(photoOk, 'photos load');
  await page.close();
});

test('the dashboard runs on the SDK module, its header charts move, and no page logs an error or a failed request', async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A stream the browser cuts when the page navigates away is not a failure.
    if (!(r.url().includes('/realtime/events') && r.failure()?.errorText === 'net::ERR_ABORTED'))
      problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
  });
  const started = Date.now();
  await page.goto(`${gw.url}/`);
  await page.waitForFunction(
    () => /\d+ live updates/.test(document.getElementById('stats')?.textContent ?? ''),
    undefined,
    { timeout: 10_000 },
  );
  console.log(`dashboard: first live update ${Date.now() - started} ms after navigation`);
  assert.equal(await page.$eval('#dot', (el) => el.className), 'connected');
  // Sparklines: some product's price line has more than one point once it changed.
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('td.spark polyline')].some(
        (l) => (l.getAttribute('points') ?? '').split(' ').length > 1,
      ),
    undefined,
    { timeout: 10_000 },
  );
  await page.waitForFunction(
    () => (document.querySelector('#rate-chart polyline')?.getAttribute('points') ?? '').split(' ').length >= 3,
    undefined,
    { timeout: 10_000 },
  );
  const clip = { x: 0, y: 0, width: 1200, height: 90 };
  const first = await page.screenshot({ clip });
  await page.waitForFunction(
    () => (document.querySelector('#rate-chart polyline')?.getAttribute('points') ?? '').split(' ').length >= 6,
    undefined,
    { timeout: 10_000 },
  );
  const second = await page.screenshot({ clip });
  assert.notDeepEqual(first, second, 'the header charts changed between two screenshots');
  if (process.env.HUBCAST_DOCS_SCREENSHOTS === '1') await page.screenshot({ path: 'docs/dashboard.png' });
  // The transport switch moves the stream to the WebSocket: updates keep coming, one WS, no SSE.
  const before = await page.$eval('#stats', (el) => Number(/(\d+) live updates/.exec(el.textContent ?? '')?.[1] ?? 0));
  await page.selectOption('#transport', 'ws');
  await page.waitForFunction(
    (n) => Number(/(\d+) live updates/.exec(document.getElementById('stats')?.textContent ?? '')?.[1] ?? 0) > n + 2,
    before,
    { timeout: 10_000 },
  );
  await waitFor(
    async () => {
      const stats = await (await fetch(`${gw.url}/realtime/stats`)).json();
      return stats.websocket_count === 1 && stats.sse_count === 0;
    },
    5000,
    'the page on one WebSocket and no SSE stream',
  );
  await page.goto(`${gw.url}/realtime/sse-test`);
  await page.waitForLoadState('load');
  assert.deepEqual(problems, []);
  await page.close();
});
