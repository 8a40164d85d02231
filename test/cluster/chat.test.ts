/**
 * Chat on a cluster of real gateway processes (`hubcast gateway`, shared PostgreSQL, Redis and
 * RabbitMQ, nginx in front): a post on one node is stored once, reaches subscribers on the other
 * and is in the history read from either; a client_msg_id sent concurrently to both nodes is
 * stored and published once; invalid posts store nothing; history survives a node crash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { getJson, postJson } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';

describe('chat across gateway nodes', () => {
  let cluster: TestCluster;
  const sockets: TestWs[] = [];
  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, env: { CHAT_RATE_LIMIT: '0' } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await cluster?.close();
  });

  const ws = async (url: string) => {
    const s = await TestWs.open(url);
    sockets.push(s);
    await s.next((f) => f.type === 'connected');
    return s;
  };
  const wsUrl = (i: number, user: string) => `${cluster.node(i).url.replace('http', 'ws')}/realtime/ws?user_id=${user}`;
  const history = async (i: number, room: string, query = '') => {
    const r = await getJson(`${cluster.node(i).url}/api/chat/rooms/${room}/messages${query}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const chatEvents = (s: TestWs, room: string) => s.events(`chat:${room}`).filter((f) => f.event === 'chat.message');

  it('a post on node 1 reaches a subscriber on node 2 once and is in node 2 history', async () => {
    const bob = await ws(wsUrl(2, 'bob'));
    await bob.command('join_channel', { channel: 'chat:x1' });
    const ann = await ws(wsUrl(1, 'ann'));
    ann.send({
      type: 'channel_message',
      channel: 'chat:x1',
      message: { text: 'from node 1', client_msg_id: 'a1' },
      ref: 'p1',
    });
    const reply = await ann.next((f) => f.ref === 'p1');
    assert.equal(reply.type, 'reply', JSON.stringify(reply));
    const ev = await bob.next((f) => f.event === 'chat.message');
    assert.deepEqual(ev.data, reply.data.message);
    assert.deepEqual((await history(2, 'x1')).messages, [reply.data.message]);
    // A repeat on the other node: the stored message, nothing published.
    const again = await postJson(`${cluster.node(2).url}/api/chat/rooms/x1/messages`, {
      user_id: 'ann',
      text: 'from node 1',
      client_msg_id: 'a1',
    });
    assert.deepEqual(again.body, reply.data.message);
    const marker = await postJson(`${cluster.node(2).url}/api/chat/rooms/x1/messages`, {
      user_id: 'ann',
      text: 'marker',
    });
    await bob.next((f) => f.event === 'chat.message' && f.data.id === marker.body.id);
    assert.deepEqual(
      chatEvents(bob, 'x1').map((f) => f.data.text),
      ['from node 1', 'marker'],
    );
  });

  it('the same client_msg_id posted concurrently to both nodes: one row, one chat.message', async () => {
    const watcher = await ws(wsUrl(1, 'wat'));
    await watcher.command('join_channel', { channel: 'chat:race' });
    for (let k = 0; k < 5; k++) {
      const body = { user_id: 'ann', text: `race ${k}`, client_msg_id: `race-${k}` };
      const answers = await Promise.all(
        [1, 2, 1, 2, 1, 2].map((i) => postJson(`${cluster.node(i).url}/api/chat/rooms/race/messages`, body)),
      );
      assert.ok(
        answers.every((a) => a.status === 201),
        JSON.stringify(answers.map((a) => a.body)),
      );
      assert.equal(new Set(answers.map((a) => a.body.id)).size, 1, 'every answer is the one stored message');
    }
    const marker = await postJson(`${cluster.node(2).url}/api/chat/rooms/race/messages`, {
      user_id: 'ann',
      text: 'marker',
    });
    await watcher.next((f) => f.event === 'chat.message' && f.data.id === marker.body.id);
    const texts = chatEvents(watcher, 'race').map((f) => f.data.text);
    assert.deepEqual(texts, ['race 0', 'race 1', 'race 2', 'race 3', 'race 4', 'marker'], 'each published once');
    assert.equal((await history(1, 'race')).messages.length, 6, 'each stored once');
    const rooms = (await getJson(`${cluster.node(2).url}/api/chat/rooms`)).body.rooms;
    assert.equal(rooms.find((r: any) => r.room === 'race').messages, 6);
    assert.equal(
      rooms.find((r: any) => r.room === 'race').members,
      1,
      'presence is cluster-wide: the watcher is on node 1',
    );
  });

  it('invalid posts store nothing; pagination order and next_before agree on both nodes; a crash keeps history', async () => {
    for (const body of [
      { user_id: 'ann', text: '' },
      { user_id: 'ann', text: 'y'.repeat(4001) },
      { user_id: 'ann', text: 'ok', nope: 1 },
    ]) {
      const r = await postJson(`${cluster.node(1).url}/api/chat/rooms/pg/messages`, body);
      assert.equal(r.body.error?.code, 'invalid_message');
    }
    assert.deepEqual((await history(2, 'pg')).messages, []);
    for (let i = 0; i < 7; i++)
      await postJson(`${cluster.node((i % 2) + 1).url}/api/chat/rooms/pg/messages`, { user_id: 'ann', text: `m${i}` });
    const walk = async (node: number) => {
      const out: string[] = [];
      let before: string | null = null;
      for (let n = 0; n < 10; n++) {
        const page: any = await history(node, 'pg', `?limit=3${before ? `&before=${before}` : ''}`);
        out.unshift(...page.messages.map((m: any) => m.text));
        before = page.next_before;
        if (before === null) break;
      }
      return out;
    };
    const expected = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6'];
    assert.deepEqual(await walk(1), expected);
    assert.deepEqual(await walk(2), expected);

    const beforeCrash = await history(1, 'pg', '?limit=200');
    await cluster.kill(1);
    await cluster.start(1);
    assert.deepEqual(await history(1, 'pg', '?limit=200'), beforeCrash);
    // Through nginx, whichever node answers.
    assert.deepEqual((await getJson(`${cluster.nginx.url}/api/chat/rooms/pg/messages?limit=200`)).body, beforeCrash);
  });
});
