/**
 * Acceptance (issue 15) on PGlite: the PostgreSQL run (event-log-rebuild.test.ts,
 * test/helpers/event-log-run.ts) against a gateway whose store is the embedded
 * database (no DATABASE_URL, a DATA_DIR of the test's own) and whose broker is
 * RabbitMQ, so the SIGKILL leaves unacked deliveries that come back as real
 * redeliveries, and the second gateway opens a data directory its predecessor
 * never closed. PGlite admits one process per directory: the log is read
 * through the feed, and `hubcast rebuild` runs once the gateway has stopped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Cleanup } from '../helpers/e2e.js';
import {
  assertRebuildClean,
  assertStateAt,
  E2E_PRODUCER,
  expectedLogCounts,
  killedGatewayRun,
  liveProducts,
} from '../helpers/event-log-run.js';
import { killAll, startHubcast, type HubcastServer } from '../helpers/processes.js';
import { createTestVhost } from '../helpers/services.js';

interface FeedRow {
  position: number;
  kind: string;
  event_id: string | null;
  message_id: string | null;
  producer: string | null;
}

/** The whole log through `GET /api/events`, page by page. */
async function readFeed(url: string): Promise<FeedRow[]> {
  const rows: FeedRow[] = [];
  for (let after = 0; ; ) {
    const res = await fetch(`${url}/api/events?after=${after}&limit=1000`);
    assert.equal(res.status, 200, `GET /api/events?after=${after}`);
    const page = (await res.json()) as { events: FeedRow[]; next_after: number };
    if (page.events.length === 0) return rows;
    rows.push(...page.events);
    after = page.next_after;
  }
}

/** Every applied change bumps one product's version by one. */
async function versionBumps(gw: HubcastServer): Promise<number> {
  return (await liveProducts(gw.url)).reduce((sum, p) => sum + p.version - 1, 0);
}

describe('event log through a killed gateway (PGlite)', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('random changes with duplicates and a SIGKILL: the log is exact, rebuild finds nothing, state-at matches', async () => {
    const vhost = await createTestVhost();
    cleanup.add(() => vhost.drop());
    const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-eventlog-pglite-'));
    cleanup.add(() => rmSync(dataDir, { recursive: true, force: true }));
    const env = { BROKER_URL: vhost.url, DATA_DIR: dataDir };

    const first = await startHubcast('gateway', env, { name: 'gateway #1', timeoutMs: 45_000 });
    cleanup.add(() => first.stop());
    const ids = (await liveProducts(first.url)).map((p) => p.id);

    const run = await killedGatewayRun({
      ids,
      first,
      brokerUrl: vhost.url,
      vhost,
      cleanup,
      restart: async () => {
        const second = await startHubcast('gateway', env, { name: 'gateway #2', timeoutMs: 45_000 });
        cleanup.add(() => second.stop());
        return second;
      },
      applied: versionBumps,
    });

    const feed = await readFeed(run.second.url);
    const changed = feed.filter((r) => r.kind === 'changed');
    assert.deepEqual(
      {
        changed: changed.length,
        ids: new Set(changed.map((r) => r.event_id)).size,
        created: feed.filter((r) => r.kind === 'created').length,
        provenance: changed.filter((r) => r.producer === E2E_PRODUCER && r.message_id?.startsWith('m-')).length,
      },
      expectedLogCounts(ids.length, run.distinct.size),
    );
    assert.equal(await versionBumps(run.second), run.distinct.size);
    await assertStateAt(run.second.url, run.seen);

    // The directory is the gateway's while it runs: a graceful stop hands it to the CLI.
    run.second.signal('SIGTERM');
    assert.deepEqual(await run.second.waitExit(30_000), { code: 0, signal: null });
    await assertRebuildClean({ DATA_DIR: dataDir }, ids.length, run.distinct.size);
  });
});
