/**
 * The event log's acceptance run (issue 15), shared by the PostgreSQL and the
 * PGlite end-to-end tests: random changes across all products, a tenth of them
 * published twice, published through RabbitMQ (so a killed gateway's unacked
 * deliveries come back as real redeliveries), the gateway SIGKILLed a quarter
 * of the way in and replaced. What differs between the two stores — how a test
 * counts applied events, where the database lives — is passed in.
 *
 * @example
 * const run = await killedGatewayRun({ ids, brokerUrl: vhost.url, queueVhost: vhost, cleanup, start, applied });
 * await assertStateAt(run.second.url, run.seen);
 * await assertRebuildClean({ DATABASE_URL: db.url }, ids.length, run.distinct.size);
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { type Cleanup, gatewayStats, pollUntil } from './e2e.js';
import type { HubcastServer } from './processes.js';
import { queueInfo } from './services.js';

const execFileAsync = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/hubcast.js');

/** The 10,000 by default; `HUBCAST_EVENT_LOG_E2E_EVENTS` for a quicker run while developing. */
export const EVENT_LOG_E2E_EVENTS = Number(process.env.HUBCAST_EVENT_LOG_E2E_EVENTS ?? 10_000);

/** The `app-id` every published change carries: the log's `producer` column must show it. */
export const E2E_PRODUCER = 'e2e-producer';

export interface LiveProduct {
  id: number;
  price: number;
  stock: number;
  version: number;
  updated_at: string;
}

export async function liveProducts(url: string): Promise<LiveProduct[]> {
  const res = await fetch(`${url}/api/products`);
  if (res.status !== 200) throw new Error(`GET /api/products: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as LiveProduct[];
}

/** The change bodies in publishing order (duplicates included) and the distinct event ids among them. */
export interface RandomChanges {
  bodies: Buffer[];
  distinct: Set<string>;
}

/** `events` seeded random changes over `ids`; every tenth also goes again a little later (a producer's retry). */
export function randomChanges(ids: readonly number[], events: number): RandomChanges {
  let seed = 15;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const bodies: Buffer[] = [];
  const distinct = new Set<string>();
  for (let i = 0; i < events; i++) {
    const r = rand(3);
    // Prices from whole cents: 1 + 0.07 is not 1.07 in binary, and the gateway rightly refuses a third decimal.
    const changes =
      r === 0
        ? { price: (100 + rand(100_000)) / 100 }
        : r === 1
          ? { stock: rand(1000) }
          : { price: (100 + rand(5000)) / 100, stock: rand(50) };
    const body = {
      event_id: randomUUID(),
      product_id: ids[rand(ids.length)],
      changes,
      occurred_at: new Date().toISOString(),
    };
    distinct.add(body.event_id);
    bodies.push(Buffer.from(JSON.stringify(body)));
    if (i % 10 === 0) bodies.splice(Math.max(0, bodies.length - 1 - rand(50)), 0, bodies[bodies.length - 1]);
  }
  return { bodies, distinct };
}

/** Publish every body to exchange `catalog` on a confirm channel, message ids `m-<i>`; resolves once RabbitMQ confirmed all. */
export async function publishChanges(brokerUrl: string, bodies: readonly Buffer[], cleanup: Cleanup): Promise<void> {
  const conn = await amqp.connect(brokerUrl);
  cleanup.add(() => conn.close().catch(() => undefined));
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('catalog', 'topic', { durable: true });
  for (const [i, bytes] of bodies.entries()) {
    ch.publish('catalog', 'product.changed', bytes, {
      persistent: true,
      contentType: 'application/json',
      appId: E2E_PRODUCER,
      messageId: `m-${i}`,
    });
    if (i % 500 === 499) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
}

export interface KilledGatewayRunOptions {
  ids: readonly number[];
  /** A running gateway consuming from `brokerUrl`; the run SIGKILLs it. */
  first: HubcastServer;
  brokerUrl: string;
  /** The vhost whose `catalog.gateway` queue must drain. */
  vhost: { name: string };
  cleanup: Cleanup;
  /** Start the replacement gateway on the same database. */
  restart: () => Promise<HubcastServer>;
  /** How many distinct events are applied so far, asked through `gw` or the database. */
  applied: (gw: HubcastServer) => Promise<number>;
  events?: number;
}

export interface KilledGatewayRun extends RandomChanges {
  second: HubcastServer;
  /** `GET /api/products` as the first gateway answered it just before the kill. */
  seen: LiveProduct[];
}

/**
 * Publish the random changes, record the live products once a quarter is
 * applied, SIGKILL the first gateway, start the second, and wait until every
 * distinct event is applied, the queue is empty and nothing is in flight.
 */
export async function killedGatewayRun(options: KilledGatewayRunOptions): Promise<KilledGatewayRun> {
  const { ids, first, cleanup, events = EVENT_LOG_E2E_EVENTS } = options;
  const changes = randomChanges(ids, events);
  await publishChanges(options.brokerUrl, changes.bodies, cleanup);

  await pollUntil(
    () => options.applied(first),
    (n) => n >= events / 4,
    { timeoutMs: 60_000, what: 'a quarter applied' },
  );
  const seen = await liveProducts(first.url);
  assert.deepEqual(await first.kill(), { code: null, signal: 'SIGKILL' });
  const second = await options.restart();

  await pollUntil(
    () => options.applied(second),
    (n) => n === changes.distinct.size,
    { timeoutMs: 90_000, what: 'every distinct event applied' },
  );
  await pollUntil(
    () => queueInfo(options.vhost, 'catalog.gateway'),
    (q) => q?.messages === 0,
    { timeoutMs: 30_000, what: 'the queue drained' },
  );
  await pollUntil(
    () => gatewayStats(second.url),
    (s) => s.events_in_flight === 0,
    { what: 'settled' },
  );
  return { ...changes, second, seen };
}

/** What the log must hold after the run: every distinct change once, with its provenance, and each product's `created` row. */
export function expectedLogCounts(products: number, distinct: number) {
  return { changed: distinct, ids: distinct, created: products, provenance: distinct };
}

/** Each recorded product, asked at its recorded version and at its recorded `updated_at`, answers exactly what the live API showed. */
export async function assertStateAt(url: string, seen: readonly LiveProduct[]): Promise<void> {
  for (const p of seen) {
    for (const query of [`version=${p.version}`, `at=${encodeURIComponent(p.updated_at)}`]) {
      const res = await fetch(`${url}/api/products/${p.id}?${query}`);
      assert.equal(res.status, 200, query);
      assert.deepEqual(await res.json(), p, `product ${p.id} ?${query}`);
    }
  }
}

/**
 * `hubcast rebuild` (the CLI, as an operator runs it) with `env` naming the
 * database; asserts it exits 0 and reports the whole log replayed and no
 * difference. Resolves with its stdout.
 */
export async function assertRebuildClean(
  env: Record<string, string>,
  products: number,
  distinct: number,
): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [BIN, 'rebuild'], {
    env: { PATH: process.env.PATH, ...env },
    timeout: 60_000,
  });
  assert.match(
    stdout,
    new RegExp(`rebuild: ${products} products from ${distinct + products} log rows .*the live table matches the log`),
  );
  return stdout;
}
