import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig, type Config } from '../../src/config/config.js';
import { createGateway, type Gateway } from '../../src/server.js';
import type { Application } from '../../src/application.js';
import { CATALOG_CHANNELS } from '../../src/apps/catalog/app.js';

/**
 * The catalog's channel declaration without its pipeline: `products` and
 * `product:*` server-owned, `products` the default stream, exactly as
 * `hubcast gateway` has them, for tests of channel rules that need no database.
 */
export const catalogChannels: Application = {
  name: 'catalog',
  channels: CATALOG_CHANNELS,
  defaultChannels: ['products'],
};
import { createLogger } from '../../src/logger.js';

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** A gateway on a free loopback port, core only unless applications are given. */
export async function startGateway(overrides: Partial<Config> = {}, apps: Application[] = []): Promise<RunningGateway> {
  // Each gateway gets its own DATA_DIR: history snapshots and PGlite never collide between tests.
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'hubcast-test-')));
  const config = makeConfig({ host: '127.0.0.1', port: 0, logLevel: 'silent', dataDir, ...overrides });
  const gateway = await createGateway(config, {
    logger: createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent'),
    apps,
  });
  await gateway.listen();
  const url = gateway.url;
  return { gateway, url, wsUrl: `${url.replace(/^http/, 'ws')}/realtime/ws`, close: () => gateway.close() };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // non-JSON answers are returned as text for the assertion to show
  }
  return { status: res.status, body: parsed };
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

/** Poll `check` until it returns true or `timeoutMs` passes (conditions, not sleeps). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
