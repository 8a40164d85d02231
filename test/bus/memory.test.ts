import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, MemoryBus } from '../../src/bus/index.js';
import { Hub } from '../../src/hub/hub.js';
import { MemoryHistory } from '../../src/hub/history.js';
import { EventIdSequence } from '../../src/hub/ids.js';
import { RetentionPolicy } from '../../src/hub/retention.js';
import { createLogger } from '../../src/logger.js';
import { RETAINED, runBusSuite } from './bus-suite.js';
import { postJson, startGateway } from '../helpers/gateway.js';

const log = createLogger('silent');

/** A node alone, wired as the gateway wires it (src/bus/index.ts): the hub writes the history the bus reads. */
function node(dataDir?: string, ids = new EventIdSequence()) {
  const history = new MemoryHistory({ size: RETAINED, floor: ids.floor });
  const bus = new MemoryBus({ nodeId: 'alone', history, ids, dataDir, log });
  const hub = new Hub(history, bus);
  return { bus, hub, history };
}

runBusSuite('memory', async () => {
  const { bus, hub } = node();
  await bus.start();
  hub.startAt(await bus.currentId());
  return { bus, cleanup: () => bus.close() };
});

describe('memory bus specifics', () => {
  const config = { redisPrefix: 'hubcast:', nodeId: 'n', dataDir: '/nonexistent', historyMaxBytes: 0 };
  const parts = () => {
    const ids = new EventIdSequence();
    return {
      ids,
      history: new MemoryHistory({ size: 10, floor: ids.floor }),
      retention: RetentionPolicy.parse(undefined, { count: 10, maxAgeMs: 0 }),
    };
  };

  it('createBus picks the in-process bus when REDIS_URL is unset, and Redis when it is set', async () => {
    const memory = createBus({ ...config, redisUrl: undefined }, log, parts());
    assert.equal(memory.clustered, false);
    assert.ok(memory instanceof MemoryBus);
    const redisParts = parts();
    const redis = createBus({ ...config, redisUrl: 'redis://127.0.0.1:1' }, log, redisParts);
    assert.equal(redis.clustered, true);
    assert.deepEqual(
      redisParts.history.since('any', redisParts.ids.current),
      { ok: false, reason: 'unknown_position' },
      'a cluster node covers nothing before the bus delivers',
    );
    await redis.close();
  });

  it("delivers before publish returns: the publisher's turn queues it, as a direct call would", () => {
    const { bus, hub } = node();
    let handed = 0;
    bus.onPublication(() => handed++);
    void bus.publish('room', 'e', '1', false);
    assert.equal(handed, 1);
    assert.equal(hub.history.since('room', hub.position - 1).ok, true);
  });

  it('keeps its history across a graceful restart (snapshot in DATA_DIR), and only once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hubcast-bus-'));
    const first = node(dir, new EventIdSequence(1_000_000));
    await first.bus.start();
    const a = (await first.bus.publish('room', 'e', '"a"', true))!;
    const b = (await first.bus.publish('room', 'e', '"b"', true))!;
    await first.bus.close();

    const second = node(dir, new EventIdSequence(2_000));
    await second.bus.start();
    assert.equal(await second.bus.currentId(), b, 'ids go on from the last process');
    const r = await second.bus.since('room', a);
    assert.ok(r.ok);
    assert.deepEqual(
      r.entries.map((e) => [e.id, e.text, e.dataJson]),
      [[b, true, '"b"']],
    );
    assert.deepEqual(await readdir(dir), [], 'consumed: a crash after this start cannot reuse it');
    const c = (await second.bus.publish('room', 'e', '"c"', true))!;
    assert.ok(c > b);
    await second.bus.close();
  });
});

describe('a gateway alone', () => {
  it('runs on the in-process bus: ready, not clustered, and its history survives a graceful restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hubcast-alone-'));
    const first = await startGateway({ dataDir });
    try {
      const ready = (await (await fetch(`${first.url}/readyz`)).json()) as {
        status: string;
        checks: Record<string, boolean>;
      };
      assert.equal(ready.status, 'ready');
      assert.equal(ready.checks.bus, true);
      assert.equal(first.gateway.stats().cluster, false);
      const a = await postJson(`${first.url}/realtime/send`, { channel: 'room', data: 'a' });
      const b = await postJson(`${first.url}/realtime/send`, { channel: 'room', data: 'b' });
      assert.ok(Number(b.body.id) > Number(a.body.id));
      await first.close();
      const second = await startGateway({ dataDir });
      try {
        const read = await second.gateway.hub.eventsSince(['room'], Number(a.body.id), false);
        assert.deepEqual(read.failed, []);
        assert.deepEqual(
          read.publications.map((p) => [p.idText, p.dataJson]),
          [[b.body.id, '"b"']],
        );
        const c = await postJson(`${second.url}/realtime/send`, { channel: 'room', data: 'c' });
        assert.ok(Number(c.body.id) > Number(b.body.id), 'ids go on rising');
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });
});
