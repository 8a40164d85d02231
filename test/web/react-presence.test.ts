import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { closeAll, launchBrowser, openPage, serveApp, type TestSite } from '../helpers/browser.js';
import { TestWs } from '../helpers/ws-client.js';
// @ts-expect-error an .mjs build script without types
import { options as exampleBuild } from '../../examples/react/build.mjs';

const APP = `
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { usePresence, useChannel } from 'hubcast/react';
const gateway = new URLSearchParams(location.search).get('gateway');
function Who() {
  const { members, state } = usePresence('room:1', { url: gateway.replace(/^http/, 'ws') + '/realtime/ws' });
  return <div><b id="state">{state}</b><ul id="members">{members.map((m) => <li key={m.client_id}>{m.user_id ?? 'anonymous'}</li>)}</ul></div>;
}
function Talk() {
  const { events, send } = useChannel('room:1', { url: gateway.replace(/^http/, 'ws') + '/realtime/ws' });
  return <div><button id="say" onClick={() => send({ text: 'hi from react' }).then((r) => { window.sentId = r.id; })}>say</button>
    <ol id="said">{events.filter((e) => e.event !== 'presence.join' && e.event !== 'presence.leave').map((e) => <li key={e.id}>{JSON.stringify(e.data)}</li>)}</ol></div>;
}
createRoot(document.getElementById('root')).render(<StrictMode><Who /><Talk /></StrictMode>);
`;

let gw: RunningGateway;
let browser: Browser;
let site: TestSite;
before(async () => {
  // Bundled as the React example is (hubcast/react from this repository's sources), from APP instead of its app.tsx.
  const { entryPoints: _, ...bundling } = exampleBuild;
  const bundled = await build({
    ...bundling,
    stdin: { contents: APP, loader: 'tsx', resolveDir: fileURLToPath(new URL('.', import.meta.url)) },
    write: false,
  });
  const app = bundled.outputFiles![0].contents;
  gw = await startGateway({ presenceChannels: ['room:*'] });
  browser = await launchBrowser();
  site = await serveApp(app, '/app.js');
});
after(() => closeAll(browser, gw, site));

test('usePresence lists the page itself and others as they join and leave the channel', async () => {
  const { page, problems } = await openPage(browser);
  await page.goto(`${site.url}?gateway=${encodeURIComponent(gw.url)}`);
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');
  await page.waitForFunction(() => document.querySelectorAll('#members li').length === 1);
  const other = await TestWs.open(`${gw.wsUrl}?user_id=bob`);
  await other.next((f) => f.type === 'connected');
  assert.equal((await other.command('join_channel', { channel: 'room:1' })).ok, true);
  await page.waitForFunction(() => (document.getElementById('members')?.textContent ?? '').includes('bob'));
  assert.equal(await page.$$eval('#members li', (li) => li.length), 2);
  other.close();
  await page.waitForFunction(() => document.querySelectorAll('#members li').length === 1);
  assert.deepEqual(problems, []);
  await page.close();
});

test('useChannel send publishes to the channel over the shared socket, and the sender sees it', async () => {
  const page = await browser.newPage();
  let sockets = 0;
  page.on('websocket', () => sockets++);
  await page.goto(`${site.url}?gateway=${encodeURIComponent(gw.url)}`);
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');
  await page.click('#say');
  await page.waitForFunction(() => (document.getElementById('said')?.textContent ?? '').includes('hi from react'));
  assert.match(String(await page.evaluate(() => (window as any).sentId)), /^\d+$/);
  assert.equal(sockets, 1, 'usePresence and useChannel share one WebSocket');
  await page.close();
});
