import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser).
 * The flags keep it off the network this machine does not have.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** A test site on another origin than the gateway (its own port on 127.0.0.1, addressed as localhost). */
export interface TestSite {
  url: string;
  close(): Promise<void>;
}

export async function serveSite(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestSite> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A site whose every page is an empty #root that loads the bundled `app` from `scriptPath` as a module. */
export function serveApp(app: Uint8Array, scriptPath: string): Promise<TestSite> {
  return serveSite((req, res) => {
    if (req.url?.startsWith(scriptPath)) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return void res.end(app);
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><div id="root"></div><script type="module" src="${scriptPath}"></script>`,
    );
  });
}

/** A new page of `browser` and its console errors and uncaught exceptions, collected as they happen. */
export async function openPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  return { page, problems: pageProblems(page) };
}

/** Console errors and uncaught exceptions of the page, collected as they happen. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return problems;
}

/** Closes each fixture that was started (browser, gateway, site), in order, for after(). */
export async function closeAll(...fixtures: Array<{ close(): Promise<unknown> } | undefined>): Promise<void> {
  for (const f of fixtures) await f?.close();
}
