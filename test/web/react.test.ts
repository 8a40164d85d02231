import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { startGateway, postJson, getJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { closeAll, launchBrowser, openPage, serveApp, type TestSite } from '../helpers/browser.js';
import { catalogApp } from '../../src/apps/catalog/app.js';
// @ts-expect-error an .mjs build script without types
import { options as exampleBuild } from '../../examples/react/build.mjs';

let gw: RunningGateway;
let browser: Browser;
/** The example app, bundled in memory and served from another origin. */
let site: TestSite;
before(async () => {
  const bundled = await build({ ...exampleBuild, write: false, outfile: 'app.js' });
  const app = bundled.outputFiles![0].contents;
  gw = await startGateway({ generatorIntervalMs: 100 }, [catalogApp({ withGenerator: true })]);
  browser = await launchBrowser();
  site = await serveApp(app, '/dist/app.js');
});
after(() => closeAll(browser, gw, site));

test('the React example renders live updates under StrictMode with one SSE stream and one WebSocket for the page', async () => {
  const { page, problems } = await openPage(browser);
  let streams = 0;
  let sockets = 0;
  page.on('request', (r) => {
    if (r.url().includes('/realtime/events')) streams++;
  });
  page.on('websocket', () => sockets++);
  const started = Date.now();
  await page.goto(`${site.url}?gateway=${encodeURIComponent(gw.url)}`);
  await page.waitForFunction(
    () =>
      document.querySelector('[data-testid=sse-state]')?.textContent === 'connected' &&
      document.querySelector('[data-testid=ws-state]')?.textContent === 'connected',
  );
  await page.waitForFunction(
    () => !(document.getElementById('last-change')?.textContent ?? '').startsWith('waiting'),
    undefined,
    { timeout: 15_000 },
  );
  console.log(`first live update rendered ${Date.now() - started} ms after navigation`);
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#products tr')].some((tr) => Number((tr as HTMLElement).dataset.version) > 1),
  );

  const sent = await postJson(`${gw.url}/realtime/send`, {
    channel: 'notifications',
    event: 'notice',
    data: { text: 'sale starts now' },
  });
  assert.equal(sent.status, 200);
  await page.waitForFunction(() => document.getElementById('notifications')?.textContent?.includes('sale starts now'));

  // StrictMode mounted every effect twice; two components read the same stream URL.
  assert.equal(streams, 1, 'one EventSource request for the page');
  assert.equal(sockets, 1, 'one WebSocket for the page');
  const stats = await getJson(`${gw.url}/realtime/stats`);
  assert.equal(stats.body.sse_count, 1);
  assert.equal(stats.body.websocket_count, 1);
  assert.deepEqual(problems, []);

  await page.close();
  await waitFor(
    async () => (await getJson(`${gw.url}/realtime/stats`)).body.connections === 0,
    5000,
    'the page closed its connections',
  );
});
