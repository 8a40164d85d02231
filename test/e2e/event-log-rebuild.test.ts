/**
 * Acceptance (issue 15) on PostgreSQL: 10,000 random changes across all
 * products, a tenth of them published twice, the gateway SIGKILLed mid-run and
 * replaced; then the event log holds exactly the applied changes, a state-at
 * query answers what the live API showed, and `hubcast rebuild` finds no
 * difference. The run itself is test/helpers/event-log-run.ts, shared with
 * the PGlite variant (event-log-rebuild-pglite.test.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Cleanup, TestSql, isolatedServices } from '../helpers/e2e.js';
import {
  assertRebuildClean,
  assertStateAt,
  E2E_PRODUCER,
  expectedLogCounts,
  killedGatewayRun,
} from '../helpers/event-log-run.js';
import { killAll, startHubcast } from '../helpers/processes.js';

describe('event log through a killed gateway (PostgreSQL)', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('random changes with duplicates and a SIGKILL: the log is exact, rebuild finds nothing, state-at matches', async () => {
    const { db, vhost, env } = await isolatedServices(cleanup);
    const first = await startHubcast('gateway', env, { name: 'gateway #1' });
    cleanup.add(() => first.stop());
    const sql = await TestSql.open(db.url);
    cleanup.add(() => sql.close());
    const ids = (await sql.client.query<{ id: number }>('SELECT id FROM products ORDER BY id')).rows.map((r) => r.id);

    const run = await killedGatewayRun({
      ids,
      first,
      brokerUrl: vhost.url,
      vhost,
      cleanup,
      restart: async () => {
        const second = await startHubcast('gateway', env, { name: 'gateway #2' });
        cleanup.add(() => second.stop());
        return second;
      },
      applied: () =>
        sql.client.query('SELECT count(*)::int AS n FROM applied_events').then((r) => r.rows[0].n as number),
    });

    const {
      rows: [counts],
    } = await sql.client.query(
      `SELECT count(*) FILTER (WHERE kind = 'changed')::int AS changed, count(DISTINCT event_id)::int AS ids,
              count(*) FILTER (WHERE kind = 'created')::int AS created,
              count(*) FILTER (WHERE producer = $1 AND message_id LIKE 'm-%')::int AS provenance
         FROM product_events`,
      [E2E_PRODUCER],
    );
    assert.deepEqual(counts, expectedLogCounts(ids.length, run.distinct.size));
    assert.equal(await sql.versionBumps(), run.distinct.size);

    await assertRebuildClean({ DATABASE_URL: db.url }, ids.length, run.distinct.size);
    await assertStateAt(run.second.url, run.seen);
  });
});
