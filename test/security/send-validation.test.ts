import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';

// `user_id` in POST /realtime/send was any string of up to 128 characters, making channels
// (`user:a b`, `user:<129 characters>`) that no client can name; and the server API could
// publish the reserved `system` event with a fake recovery_failed or token_expired that the SDK
// obeys. Both answered 200 on the old code.

let gw: RunningGateway;
before(async () => {
  gw = await startGateway();
});
after(() => gw.close());

test('a user_id that does not make a valid user:<id> channel name is refused with invalid_channel', async () => {
  for (const user_id of ['a b', 'ali*ce', 'bob?', 'x'.repeat(124), 'new\nline', 'é']) {
    const r = await postJson(`${gw.url}/realtime/send`, { user_id, data: 1 });
    assert.equal(r.status, 400, JSON.stringify(user_id));
    assert.equal(r.body.error.code, 'invalid_channel');
    assert.match(r.body.error.message, /^invalid user_id .*user:<user_id> must be a channel name/);
  }
  for (const user_id of ['alice', 'a@b.example', 'x'.repeat(123), 'org/team=1:u']) {
    const r = await postJson(`${gw.url}/realtime/send`, { user_id, data: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.channel, `user:${user_id}`);
  }
});

test('the server API may not publish the reserved system event, on send or broadcast', async () => {
  const ws = await TestWs.open(`${gw.wsUrl}?user_id=alice`);
  await ws.command('join_channel', { channel: 'room:sys' });
  const fake = { type: 'recovery_failed', reason: 'forged' };
  const answers = [
    await postJson(`${gw.url}/realtime/send`, { channel: 'room:sys', event: 'system', data: fake }),
    await postJson(`${gw.url}/realtime/send`, { user_id: 'alice', event: 'system', data: { type: 'token_expired' } }),
    await postJson(`${gw.url}/realtime/broadcast`, { event: 'system', data: fake }),
  ];
  for (const r of answers) {
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'bad_request');
    assert.match(r.body.error.message, /event "system" is reserved/);
  }
  // nothing reached the client: the next event it sees is the sentinel (the sends to an offline
  // alice above wait in her inbox and arrive as `message` on user:alice when she connects)
  await postJson(`${gw.url}/realtime/send`, { channel: 'room:sys', event: 'sentinel', data: 1 });
  const first = await ws.next((f) => f.type === 'event' && !(f.channel === 'user:alice' && f.event === 'message'));
  assert.equal(first.event, 'sentinel');
  // names that merely contain it are ordinary events
  assert.equal(
    (await postJson(`${gw.url}/realtime/send`, { channel: 'room:sys', event: 'system.note', data: 1 })).status,
    200,
  );
  ws.close();
});
