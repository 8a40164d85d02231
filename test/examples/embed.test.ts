/**
 * examples/embed.js: the package root embeds hubcast with one custom
 * application; its channel, default stream, route and refusal rules work as
 * declared, and it stops cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { postJson, waitFor } from '../helpers/gateway.js';
import { REPO_ROOT } from '../helpers/processes.js';
import { TestWs } from '../helpers/ws-client.js';

test('the embedding example serves its application: default stream, its route, its server-owned channel', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hubcast-embed-'));
  // A clean environment: no REDIS_URL or DATABASE_URL from the test services, so it runs embedded.
  const child = spawn(process.execPath, [join(REPO_ROOT, 'examples/embed.js')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  await waitFor(() => /on http:\/\/\S+/.test(out) || child.exitCode !== null, 15_000, 'the example listening');
  const url = /on (http:\/\/\S+)/.exec(out)?.[1];
  assert.ok(url, `no URL printed; stderr: ${err}`);

  // No channels= named: the application's default channel.
  const ac = new AbortController();
  t.after(() => ac.abort());
  const stream = await fetch(`${url}/realtime/events`, { signal: ac.signal });
  assert.equal(stream.status, 200);
  let sse = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream.body!) sse += decoder.decode(chunk as Uint8Array, { stream: true });
  })().catch(() => undefined);
  await waitFor(() => sse.includes('"type":"connected"'), 5000, 'the stream connected');

  assert.deepEqual((await postJson(`${url}/api/vote/yes`, {})).body, { yes: 1, no: 0 });
  await waitFor(
    () => sse.includes('event: vote.counted\ndata: {"yes":1,"no":0}'),
    5000,
    'the vote on the default stream',
  );
  const bad = await postJson(`${url}/api/vote/maybe`, {});
  assert.equal(bad.status, 404);
  assert.equal(bad.body.error.code, 'not_found');

  // `votes` is the application's: clients may join it but not publish there.
  const ws = await TestWs.open(`${url.replace(/^http/, 'ws')}/realtime/ws`);
  assert.equal((await ws.command('join_channel', { channel: 'votes' })).ok, true);
  ws.send({ type: 'channel_message', channel: 'votes', message: { yes: 1000 }, ref: 'p' });
  const refused = await ws.next((f) => f.ref === 'p');
  assert.equal(refused.code, 'forbidden');
  ws.close();

  ac.abort();
  await reading;
  child.kill('SIGTERM');
  await waitFor(() => child.exitCode !== null, 10_000, 'the example stopped');
  assert.equal(child.exitCode, 0, err);
});
