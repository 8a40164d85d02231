/** examples/chat.js: prints history and live messages once each, sends typed lines. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chatApp } from '../../src/apps/chat/app.js';
import { getJson, postJson, startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { REPO_ROOT } from '../helpers/processes.js';
import { createTestDatabase } from '../helpers/services.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('the console chat prints history, then live messages, and sends lines', async () => {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const gw: RunningGateway = await startGateway({ databaseUrl: db.url }, [chatApp()]);
  cleanups.push(() => gw.close());
  await postJson(`${gw.url}/api/chat/rooms/term/messages`, { user_id: 'ann', text: 'said before' });

  const child = spawn(process.execPath, [join(REPO_ROOT, 'examples/chat.js'), 'tom', 'term', gw.url], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanups.push(() => void child.kill());
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  await waitFor(() => / ann: said before\n/.test(out), 10_000, 'history printed');
  await postJson(`${gw.url}/api/chat/rooms/term/messages`, { user_id: 'ann', text: 'live one' });
  await waitFor(() => / ann: live one\n/.test(out), 5000, 'live message printed');
  child.stdin.write('hello from the terminal\n');
  await waitFor(
    async () => (await getJson(`${gw.url}/api/chat/rooms/term/messages`)).body.messages.length === 3,
    5000,
    'line stored',
  );
  await waitFor(() => / tom: hello from the terminal\n/.test(out), 5000, 'own line printed');
  assert.equal(out.split('\n').filter((l) => l.endsWith('live one')).length, 1, 'printed once');
  assert.equal(out.split('\n').filter((l) => l.endsWith('hello from the terminal')).length, 1, 'printed once');
});
