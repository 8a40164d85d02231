import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BusBinary, BusPublication, ClusterBus } from '../../src/bus/bus.js';

/** Events each channel keeps in durable history in every harness (the suite checks the bound). */
export const RETAINED = 5;

/** One fresh, isolated, started bus per test (a new key prefix for Redis). */
export interface BusHarness {
  bus: ClusterBus;
  cleanup(): Promise<void>;
}

const until = async (cond: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * The behaviour every bus driver shares (STYLE habit 11): the in-process bus
 * and Redis run these same tests, so the hub can rely on one contract.
 * A harness keeps `RETAINED` events per channel in durable history.
 */
export function runBusSuite(name: string, make: () => Promise<BusHarness>): void {
  describe(`bus suite: ${name}`, () => {
    let h: BusHarness;
    let bus: ClusterBus;
    let seen: BusPublication[];
    beforeEach(async () => {
      h = await make();
      bus = h.bus;
      seen = [];
      bus.onPublication((p) => seen.push(p));
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('is ready once started, with its node id', () => {
      assert.equal(bus.isReady(), true);
      assert.equal(typeof bus.nodeId, 'string');
      assert.ok(bus.nodeId.length > 0);
    });

    it('numbers publications in one rising order and hands every one back, its own included, as published', async () => {
      const sent = await Promise.all(
        Array.from({ length: 20 }, (_, i) => bus.publish(`room:${i % 3}`, 'tick', JSON.stringify({ i }), false)),
      );
      await until(() => seen.length === 20, 'every publication handed back');
      const ids = seen.map((p) => p.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'in id order',
      );
      assert.equal(new Set(ids).size, 20, 'no id twice');
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        [...(sent as number[])].sort((a, b) => a - b),
        'the ids publish resolved',
      );
      for (const p of seen) {
        assert.equal(p.node, bus.nodeId);
        assert.equal(p.event, 'tick');
        assert.equal(p.channel, `room:${(JSON.parse(p.dataJson) as { i: number }).i % 3}`);
        assert.equal(p.text, false);
        assert.ok(Math.abs(p.publishedAt - Date.now()) < 5000);
      }
    });

    it('keeps string data marked as text, byte for byte', async () => {
      const data = 'two\nlines, "quoted", ünïcode ✓';
      await bus.publish('room', 'note', JSON.stringify(data), true);
      await until(() => seen.length === 1, 'handed back');
      assert.equal(seen[0].text, true);
      assert.equal(JSON.parse(seen[0].dataJson), data);
    });

    it('reports the newest id handed out as its current id', async () => {
      const before = await bus.currentId();
      const id = (await bus.publish('room', 'e', '1', false))!;
      assert.ok(id > before);
      assert.equal(await bus.currentId(), id);
    });

    it('replays a channel after a position from durable history: in order, that channel only', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push((await bus.publish('a', 'e', String(i), false))!);
        await bus.publish('b', 'e', String(i), false);
      }
      await until(() => seen.length === 8, 'handed back');
      const r = await bus.since('a', ids[0]);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(
        r.entries.map((e) => [e.id, e.channel, e.dataJson]),
        ids.slice(1).map((id, i) => [id, 'a', String(i + 1)]),
      );
      const none = await bus.since('a', ids[3]);
      assert.deepEqual(none, { ok: true, entries: [] });
      const quiet = await bus.since('never-published', ids[3]);
      assert.deepEqual(quiet, { ok: true, entries: [] });
    });

    it('refuses a position before its history or past its newest id (unknown_position)', async () => {
      const id = (await bus.publish('room', 'e', '1', false))!;
      await until(() => seen.length === 1, 'handed back');
      assert.deepEqual(await bus.since('room', 0), { ok: false, reason: 'unknown_position' });
      assert.deepEqual(await bus.since('room', id + 1_000_000), { ok: false, reason: 'unknown_position' });
    });

    it(`keeps ${RETAINED} events per channel: a position before them is a gap (history_gap)`, async () => {
      const ids: number[] = [];
      for (let i = 0; i < RETAINED + 3; i++) ids.push((await bus.publish('g', 'e', String(i), false))!);
      await until(() => seen.length === ids.length, 'handed back');
      assert.deepEqual(await bus.since('g', ids[0]), { ok: false, reason: 'history_gap' });
      const kept = await bus.since('g', ids[2]);
      assert.ok(kept.ok);
      assert.deepEqual(
        kept.entries.map((e) => e.id),
        ids.slice(3),
      );
    });

    it('publishes once per version under a key: a version at or below the last one is skipped', async () => {
      const once = (version: number) =>
        bus.publish('product:1', 'updated', String(version), false, { key: '1', version });
      const first = await once(1);
      assert.equal(typeof first, 'number');
      assert.equal(await once(1), null, 'the same version again');
      const third = await once(3);
      assert.ok(third! > first!);
      assert.equal(await once(2), null, 'an older version');
      assert.equal(
        typeof (await bus.publish('product:2', 'updated', '1', false, { key: '1', version: 1 })),
        'number',
        'per channel',
      );
      await until(() => seen.length === 3, 'handed back');
      assert.deepEqual(
        seen.map((p) => p.dataJson),
        ['1', '3', '1'],
      );
    });

    it('hands a binary message back to every node, its own included, byte for byte', async () => {
      const got: BusBinary[] = [];
      bus.onBinary((b) => got.push(b));
      const payload = Buffer.from([0, 1, 2, 0x0a, 255, 0x0a]);
      await bus.publishBinary('room', payload);
      await until(() => got.length === 1, 'binary handed back');
      assert.equal(got[0].node, bus.nodeId);
      assert.equal(got[0].channel, 'room');
      assert.ok(got[0].payload.equals(payload));
    });

    it('never hands a node message back to its sender', async () => {
      const got: string[] = [];
      bus.onNodeMessage((_from, body) => got.push(body));
      await bus.sendToNode(bus.nodeId, 'to myself');
      // Sent after it on the same bus: once this is back, the node message would have been too.
      await bus.publish('room', 'sentinel', '1', false);
      await until(() => seen.length === 1, 'sentinel handed back');
      assert.deepEqual(got, []);
    });

    it('closes once, and is not ready after', async () => {
      await bus.close();
      await bus.close();
      assert.equal(bus.isReady(), false);
    });
  });
}
