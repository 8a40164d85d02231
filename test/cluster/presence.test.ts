/**
 * Presence (issue 5, scope 3): opt-in per channel pattern (PRESENCE_CHANNELS), cluster-wide
 * through Redis: `GET /realtime/channels/:channel/presence` on any node lists the connections of
 * every node, and `presence.join` / `presence.leave` events go out on the channel itself. Entries
 * of a node that died without saying goodbye expire, and a live node announces their leave.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { getJson, startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { TestSse } from '../helpers/sse-client.js';
import { TestWs } from '../helpers/ws-client.js';

const running: RunningGateway[] = [];
after(async () => {
  await Promise.all(running.map((g) => g.close()));
});

async function cluster(n: number, prefix = redisPrefix(), ttlMs = 30_000): Promise<RunningGateway[]> {
  const nodes = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      startGateway({
        redisUrl: serviceUrls().redisUrl,
        redisPrefix: prefix,
        nodeId: `node-${i + 1}`,
        presenceChannels: ['chat:*'],
        presenceTtlMs: ttlMs,
      }),
    ),
  );
  running.push(...nodes);
  return nodes;
}

const presence = async (node: RunningGateway, channel: string) =>
  (await getJson(`${node.url}/realtime/channels/${encodeURIComponent(channel)}/presence`)).body;

describe('presence', () => {
  it('lists the connections of every node, on any node, and announces joins and leaves on the channel', async () => {
    const [n1, n2, n3] = await cluster(3);
    const watcher = await TestWs.open(n3.wsUrl);
    await watcher.command('join_channel', { channel: 'chat:lobby' });
    await waitFor(async () => (await presence(n1, 'chat:lobby')).count === 1, 3000, 'the watcher present');

    const ws = await TestWs.open(n1.wsUrl);
    const wsId = (await ws.next((f) => f.type === 'connected')).client_id;
    await ws.command('join_channel', { channel: 'chat:lobby' });
    const sse = new TestSse(`${n2.url}/realtime/events?channels=chat:lobby`, [
      'system',
      'presence.join',
      'presence.leave',
    ]);
    const sseId = JSON.parse((await sse.next((e) => e.type === 'system')).data).client_id;

    await waitFor(async () => (await presence(n3, 'chat:lobby')).count === 3, 3000, 'three members, seen from node 3');
    const list = await presence(n2, 'chat:lobby');
    assert.equal(list.channel, 'chat:lobby');
    const byClient = new Map<string, any>(list.members.map((m: any) => [m.client_id, m]));
    assert.equal(byClient.get(wsId).node, 'node-1');
    assert.equal(byClient.get(sseId).node, 'node-2');
    assert.equal(byClient.get(wsId).user_id, null);
    assert.ok(!Number.isNaN(Date.parse(byClient.get(wsId).joined_at)));

    // Events on the channel itself, whichever node the member is on.
    const joined = await watcher.next((f) => f.event === 'presence.join' && f.data.client_id === sseId);
    assert.equal(joined.channel, 'chat:lobby');
    assert.equal(joined.data.node, 'node-2');
    await ws.command('leave_channel', { channel: 'chat:lobby' });
    const left = await watcher.next((f) => f.event === 'presence.leave' && f.data.client_id === wsId);
    assert.equal(left.data.node, 'node-1');
    sse.close();
    await watcher.next((f) => f.event === 'presence.leave' && f.data.client_id === sseId);
    assert.equal((await presence(n1, 'chat:lobby')).count, 1, 'only the watcher is left');
    // Each join and leave announced exactly once.
    const announced = watcher
      .events('chat:lobby')
      .filter((f) => f.event.startsWith('presence.'))
      .map((f) => `${f.event} ${f.data.client_id}`);
    assert.equal(new Set(announced).size, announced.length);
    ws.close();
    watcher.close();
  });

  it('a channel without presence answers 404 presence_disabled; a bad name 400', async () => {
    const [n1] = await cluster(1);
    const off = await getJson(`${n1.url}/realtime/channels/products/presence`);
    assert.equal(off.status, 404);
    assert.equal(off.body.error.code, 'presence_disabled');
    const bad = await getJson(`${n1.url}/realtime/channels/${encodeURIComponent('a b')}/presence`);
    assert.equal(bad.status, 400);
  });

  it('entries of a node that stopped heartbeating expire, and a live node announces their leave once', async () => {
    const prefix = redisPrefix();
    const [n1] = await cluster(1, prefix, 600);
    const watcher = await TestWs.open(n1.wsUrl);
    await watcher.command('join_channel', { channel: 'chat:crash' });
    // What a node killed mid-session leaves behind: an entry nobody refreshes.
    const ghost = { client_id: 'ghost-1', user_id: 'u9', node: 'node-dead', joined_at: new Date().toISOString() };
    const redis = new Redis(serviceUrls().redisUrl);
    try {
      await redis
        .multi()
        .zadd(`${prefix}presence:chat:crash`, Date.now() + 300, ghost.client_id)
        .zadd(`${prefix}presence-ids:chat:crash`, 0, ghost.client_id)
        .hset(`${prefix}presence-data:chat:crash`, ghost.client_id, JSON.stringify(ghost))
        .exec();
      await waitFor(
        async () => (await presence(n1, 'chat:crash')).count === 2,
        2000,
        'the ghost listed while its entry lives',
      );
      const left = await watcher.next((f) => f.event === 'presence.leave' && f.data.client_id === 'ghost-1', 5000);
      assert.deepEqual(left.data, ghost);
      assert.equal((await presence(n1, 'chat:crash')).count, 1);
    } finally {
      await redis.quit();
      watcher.close();
    }
  });

  it('PRESENCE_CHANNELS is a comma-separated list of patterns; a bad one fails the start naming the variable', () => {
    assert.deepEqual(loadConfig({ PRESENCE_CHANNELS: ' chat:*, room:?,,' }).presenceChannels, ['chat:*', 'room:?']);
    assert.deepEqual(loadConfig({}).presenceChannels, []);
    assert.throws(
      () => loadConfig({ PRESENCE_CHANNELS: 'chat:*,bad pattern' }),
      (err: Error) => err instanceof ConfigError && err.variable === 'PRESENCE_CHANNELS',
    );
    assert.throws(
      () => loadConfig({ PRESENCE_TTL_MS: '10' }),
      (err: Error) => err instanceof ConfigError && err.variable === 'PRESENCE_TTL_MS',
    );
    const dflt = loadConfig({});
    assert.deepEqual(
      [dflt.presenceDiffThreshold, dflt.presenceDiffIntervalMs, dflt.presenceDiffMaxMembers],
      [100, 1000, 10],
    );
    for (const [variable, value] of [
      ['PRESENCE_DIFF_THRESHOLD', '0'],
      ['PRESENCE_DIFF_INTERVAL_MS', '10'],
      ['PRESENCE_DIFF_MAX_MEMBERS', '-1'],
    ]) {
      assert.throws(
        () => loadConfig({ [variable]: value }),
        (err: Error) => err instanceof ConfigError && err.variable === variable,
        variable,
      );
    }
  });

  it('works on a single node without Redis too', async () => {
    const g = await startGateway({ presenceChannels: ['chat:*'] });
    running.push(g);
    const a = await TestWs.open(g.wsUrl);
    await a.command('join_channel', { channel: 'chat:solo' });
    const b = await TestWs.open(g.wsUrl);
    const bId = (await b.next((f) => f.type === 'connected')).client_id;
    await b.command('join_channel', { channel: 'chat:solo' });
    await a.next((f) => f.event === 'presence.join' && f.data.client_id === bId);
    assert.equal((await presence(g, 'chat:solo')).count, 2);
    b.close();
    await a.next((f) => f.event === 'presence.leave' && f.data.client_id === bId);
    assert.equal((await presence(g, 'chat:solo')).count, 1);
    a.close();
  });
});
