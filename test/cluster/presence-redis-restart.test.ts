/**
 * Presence when Redis loses its data (a restart without persistence): the nodes' heartbeats
 * put their live members back within a third of PRESENCE_TTL_MS, without announcing them
 * again, and a leave after that is announced once. A private Redis, so the restart disturbs
 * no other test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getJson, startGateway, waitFor } from '../helpers/gateway.js';
import { redisPrefix, startPrivateRedis } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';

test('after Redis comes back empty, heartbeats restore the members unannounced; a later leave is announced once', async () => {
  const redis = await startPrivateRedis();
  const gw = await startGateway({
    redisUrl: redis.url,
    redisPrefix: redisPrefix(),
    presenceChannels: ['room:*'],
    presenceTtlMs: 900,
  });
  const sockets: TestWs[] = [];
  try {
    const presence = async () => (await getJson(`${gw.url}/realtime/channels/room:r/presence`)).body;
    const join = async () => {
      const ws = await TestWs.open(gw.wsUrl);
      sockets.push(ws);
      const id = (await ws.next((f) => f.type === 'connected')).client_id as string;
      assert.equal((await ws.command('join_channel', { channel: 'room:r' })).ok, true);
      return { ws, id };
    };
    const watcher = await join();
    const member = await join();
    await watcher.ws.next((f) => f.event === 'presence.join' && f.data.client_id === member.id);
    assert.equal((await presence()).count, 2);

    await redis.kill();
    await redis.restart();
    await waitFor(
      async () => (await presence().catch(() => ({ count: -1 }))).count === 2,
      5000,
      'both members back after heartbeats',
    );
    const listed = (await presence()).members.map((m: any) => m.client_id).sort();
    assert.deepEqual(listed, [watcher.id, member.id].sort());

    member.ws.close();
    await watcher.ws.next((f) => f.event === 'presence.leave' && f.data.client_id === member.id, 5000);
    const announced = watcher.ws
      .events('room:r')
      .filter((f) => f.event.startsWith('presence.') && f.data.client_id === member.id);
    assert.deepEqual(
      announced.map((f) => f.event),
      ['presence.join', 'presence.leave'],
      'joined once, left once: the restore announced nothing',
    );
    assert.equal((await presence()).count, 1);
  } finally {
    for (const s of sockets) s.close();
    await gw.close();
    await redis.stop();
  }
});
