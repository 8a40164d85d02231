/**
 * The user inbox across a Redis crash: Redis (with persistence, as production runs it) is
 * SIGKILLed and restarted while a user has unacknowledged inbox events; on the next
 * connection every unacknowledged one arrives, in order, and the acknowledged one does not.
 * A private Redis, so the crash disturbs no other test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postJson, startGateway, waitFor } from '../helpers/gateway.js';
import { redisPrefix, startPrivateRedis } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';
import { SECRET, sign } from '../auth/tokens.js';

test('a Redis crash and restart loses no unacknowledged inbox event and brings back no acknowledged one', async () => {
  const redis = await startPrivateRedis({ persistent: true });
  const gw = await startGateway({
    jwtSecret: SECRET,
    ackTimeoutMs: 60_000,
    redisUrl: redis.url,
    redisPrefix: redisPrefix(),
  });
  const user = `rr-${Date.now()}`;
  const connect = async () => {
    const ws = await TestWs.open(`${gw.wsUrl}?token=${await sign(user)}`);
    await ws.next((f) => f.type === 'connected');
    return ws;
  };
  try {
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++)
      ids.push((await postJson(`${gw.url}/realtime/send`, { user_id: user, event: 'note', data: { n: i } })).body.id);
    const first = await connect();
    await waitFor(() => first.events(`user:${user}`).length >= 4, 5000, 'the inbox delivered');
    assert.equal((await first.command('ack', { id: ids[0] })).ok, true);
    first.ws.terminate();
    await first.waitClosed();

    await redis.kill();
    await redis.restart();
    await waitFor(async () => (await fetch(`${gw.url}/readyz`)).status === 200, 15_000, 'the gateway ready again');

    const again = await connect();
    await waitFor(() => again.events(`user:${user}`).length >= 3, 10_000, 'the unacknowledged events again');
    await again.command('ping');
    assert.deepEqual(
      again.events(`user:${user}`).map((f) => f.id),
      ids.slice(1),
      'every unacknowledged one, in order; the acknowledged one not',
    );
    again.close();
  } finally {
    await gw.close();
    await redis.stop();
  }
});
