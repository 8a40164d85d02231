/**
 * Embedded mode (no DATABASE_URL): chat and the catalog share the one PGlite database of the
 * process (PGlite admits one opener per directory), and chat history survives a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chatApp } from '../../src/apps/chat/app.js';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { getJson, postJson, startGateway } from '../helpers/gateway.js';

const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-chat-embedded-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('chat beside the catalog on embedded PGlite; history survives a restart', async () => {
  const start = () => startGateway({ dataDir }, [catalogApp({ withGenerator: false }), chatApp()]);
  let gw = await start();
  try {
    assert.equal((await getJson(`${gw.url}/readyz`)).status, 200);
    assert.ok((await getJson(`${gw.url}/api/products`)).body.length >= 50, 'the catalog is there');
    const first = await postJson(`${gw.url}/api/chat/rooms/emb/messages`, { user_id: 'ann', text: 'kept' });
    assert.equal(first.status, 201);
    await gw.close();
    gw = await start();
    const page = (await getJson(`${gw.url}/api/chat/rooms/emb/messages`)).body;
    assert.deepEqual(page.messages, [first.body]);
    const second = await postJson(`${gw.url}/api/chat/rooms/emb/messages`, { user_id: 'ann', text: 'next' });
    assert.ok(second.body.id > first.body.id);
  } finally {
    await gw.close();
  }
});
