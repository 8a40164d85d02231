import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { sanitizeFilename } from '../../src/files/file-types.js';
import { raw, multipart } from './raw-http.js';

// Multipart bodies without a boundary, or cut short, answered 500 `internal_error`; filenames kept
// bidi overrides and invisible characters, so `invoice\u202Egnp.exe` was announced and served
// looking like `invoiceexe.png`.

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ uploadMaxBytes: 64 * 1024 });
});
after(() => gw.close());

const upload = (headers: Record<string, string>, body: string | Buffer) =>
  raw(gw.url, 'POST', '/realtime/binary/upload', headers, body);

test('multipart without a boundary, with an empty one, or with a broken body: 400 with a code, never 500', async () => {
  const cases: Array<[string, string]> = [
    ['multipart/form-data', 'hello'],
    ['multipart/form-data; boundary=', 'hello'],
    ['multipart/form-data; charset=utf-8', '--x\r\n'],
    ['multipart/form-data; boundary=abc', 'hello'],
    [
      'multipart/form-data; boundary=abc',
      '--abc\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhalf a fi',
    ],
    ['multipart/form-data; boundary=abc', '--abc\r\nbroken header line\r\n\r\nx\r\n--abc--\r\n'],
  ];
  for (const [type, body] of cases) {
    const r = await upload({ 'content-type': type, 'content-length': String(Buffer.byteLength(body)) }, body);
    assert.equal(r.status, 400, `${type} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'bad_request');
    assert.match(r.body.error.message, /boundary|multipart|no file part/);
  }
  // and the gateway still takes a good one
  const form = multipart('ok.txt', 'text/plain', Buffer.from('fine'));
  assert.equal((await upload({ 'content-type': form.contentType }, form.body)).status, 200);
});

test('bidi overrides, invisible and control characters in filenames are replaced, in the answer, the announcement and the download', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  await ws.command('join_channel', { channel: 'files' });
  const name = 'invoice\u202Egnp.exe\u200B\u2066x\u2069\u00AD\uFEFF\u0085\u2028\u3164.txt';
  const form = multipart(name, 'text/plain', Buffer.from('hi'));
  const r = await upload({ 'content-type': form.contentType }, form.body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const shown = r.body.filename as string;
  assert.doesNotMatch(shown, /[\u202A-\u202E\u2066-\u2069\u200B-\u200F\u00AD\uFEFF\u0080-\u009F\u2028\u2029\u3164]/u);
  assert.equal(shown, 'invoice_gnp.exe__x______.txt');
  const announced = await ws.next((f) => f.event === 'file.uploaded');
  assert.equal(announced.data.filename, shown);
  const back = await fetch(`${gw.url}${r.body.url}`);
  assert.match(back.headers.get('content-disposition') ?? '', /filename="invoice_gnp.exe__x______.txt"/);
  await back.arrayBuffer();
  ws.close();
});

test('sanitizeFilename keeps ordinary names, letters of every script and emoji, and cuts by code point', () => {
  assert.equal(sanitizeFilename('Résumé – 2024.pdf'), 'Résumé – 2024.pdf');
  assert.equal(sanitizeFilename('отчёт 報告.txt'), 'отчёт 報告.txt');
  assert.equal(sanitizeFilename('C:\\Users\\x\\..\\photo.png'), 'photo.png');
  assert.equal(sanitizeFilename('a\u00A0b\u3000c'), 'a b c');
  assert.equal(sanitizeFilename('\u202E\u200B'), '__');
  assert.equal(sanitizeFilename('...'), 'upload.bin');
  const long = sanitizeFilename('😀'.repeat(300));
  assert.equal(Array.from(long).length, 200);
  assert.equal(Buffer.from(long, 'utf8').toString('utf8'), long, 'no half surrogate pair at the cut');
});

test('UPLOAD_CHANNEL=user:<id> keeps announcements to that user; files hears nothing', async () => {
  const priv = await startGateway({ uploadChannel: 'user:ops' });
  try {
    const ops = await TestWs.open(`${priv.wsUrl}?user_id=ops`);
    await ops.next((f) => f.type === 'connected');
    const everyone = await TestWs.open(priv.wsUrl);
    await everyone.command('join_channel', { channel: 'files' });
    const form = multipart('report.txt', 'text/plain', Buffer.from('q3'));
    const r = await raw(priv.url, 'POST', '/realtime/binary/upload', { 'content-type': form.contentType }, form.body);
    assert.equal(r.status, 200);
    const announced = await ops.next((f) => f.event === 'file.uploaded');
    assert.equal(announced.channel, 'user:ops');
    assert.equal(announced.data.id, r.body.id);
    // a later event on files arrives first for the bystander: the upload never went there
    await priv.gateway.hub.publishEvent('files', 'sentinel', 1);
    assert.equal((await everyone.next((f) => f.type === 'event')).event, 'sentinel');
    ops.close();
    everyone.close();
  } finally {
    await priv.close();
  }
});
