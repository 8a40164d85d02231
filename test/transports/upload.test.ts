import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { renderProductPhoto } from '../../src/apps/catalog/photo-art.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ uploadMaxBytes: 64 * 1024 });
});
after(() => gw.close());

function form(bytes: Uint8Array, filename: string, type: string): FormData {
  const fd = new FormData();
  fd.append('file', new Blob([new Uint8Array(bytes)], { type }), filename);
  return fd;
}

test('an upload is stored, announced on channel files as file.uploaded, and served back as an attachment', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  await ws.command('join_channel', { channel: 'files' });
  const png = renderProductPhoto(7, 64);
  const res = await fetch(`${gw.url}/realtime/binary/upload`, {
    method: 'POST',
    body: form(png, '../../etc/pa"ss\nwd.png', 'image/png'),
  });
  assert.equal(res.status, 200);
  const file = (await res.json()) as any;
  assert.equal(file.size, png.length);
  assert.equal(file.content_type, 'image/png');
  assert.doesNotMatch(file.filename, /[/\\"\n]/, 'sanitized');
  assert.match(file.url, /^\/realtime\/binary\/files\/[0-9a-f-]{36}$/);
  const evt = await ws.next((f) => f.type === 'event' && f.event === 'file.uploaded');
  assert.equal(evt.channel, 'files');
  assert.deepEqual(Object.keys(evt.data).sort(), ['content_type', 'filename', 'id', 'size', 'url']);
  assert.equal(evt.data.id, file.id);

  const back = await fetch(`${gw.url}${file.url}`);
  assert.equal(back.status, 200);
  assert.equal(back.headers.get('content-type'), 'image/png');
  assert.match(back.headers.get('content-disposition') ?? '', /^attachment;/);
  assert.equal(back.headers.get('x-content-type-options'), 'nosniff');
  assert.deepEqual(Buffer.from(await back.arrayBuffer()), png);
  // stored outside anything served as a folder
  const stored = await readdir(join(gw.gateway.config.dataDir, 'uploads'));
  assert.ok(stored.includes(file.id));
  ws.close();
});

test('uploads are refused with a JSON error when the bytes lie, the file is too big, or it is not multipart', async () => {
  const lie = await fetch(`${gw.url}/realtime/binary/upload`, {
    method: 'POST',
    body: form(Buffer.from('<script>alert(1)</script>'), 'x.png', 'image/png'),
  });
  assert.equal(lie.status, 415);
  assert.equal(((await lie.json()) as any).error.code, 'unsupported_media_type');

  const big = await fetch(`${gw.url}/realtime/binary/upload`, {
    method: 'POST',
    body: form(Buffer.alloc(100 * 1024, 1), 'big.bin', 'application/octet-stream'),
  });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as any).error.code, 'payload_too_large');

  const json = await fetch(`${gw.url}/realtime/binary/upload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.ok(json.status === 415 || json.status === 400, String(json.status));
  const missing = await fetch(`${gw.url}/realtime/binary/files/00000000-0000-0000-0000-000000000000`);
  assert.equal(missing.status, 404);
  const traversal = await fetch(`${gw.url}/realtime/binary/files/..%2F..%2Fetc%2Fpasswd`);
  assert.equal(traversal.status, 404);
});
