/**
 * The wire has one home: the pieces the SDK and the server share live in packages/client/src/wire
 * (no Node imports, nothing from outside the client package), the server's src/wire/ re-exports
 * them, and the hub takes its framing from src/wire/, not from a transport.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  BinaryMessage,
  ClientError,
  WS_PATH as SDK_WS_PATH,
  SSE_PATH as SDK_SSE_PATH,
} from '../../packages/client/src/index.js';
import * as shared from '../../packages/client/src/wire/index.js';
import * as server from '../../src/wire/index.js';
import * as installed from '@hubcast/client/wire';
import { ErrorCode } from '../../src/codes.js';
import { WS_PATH } from '../../src/transports/ws/transport.js';
import { SSE_PATH } from '../../src/transports/sse/transport.js';
import { REPO_ROOT } from '../helpers/processes.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
}

test('the client package imports nothing from Node or from outside itself (react only in react/)', () => {
  const root = join(REPO_ROOT, 'packages', 'client', 'src');
  const bad: string[] = [];
  for (const file of sources(root)) {
    const rel = relative(root, file);
    for (const spec of imports(file)) {
      const inReact = rel.startsWith('react/') && spec === 'react';
      const staysInside = spec.startsWith('.') && !relative(root, join(file, '..', spec)).startsWith('..');
      if (!inReact && !staysInside) bad.push(`${rel}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the hub takes framing from src/wire/, not from a transport', () => {
  const bad = sources(join(REPO_ROOT, 'src', 'hub')).flatMap((file) =>
    imports(file)
      .filter((s) => s.includes('transports/'))
      .map((s) => `${relative(REPO_ROOT, file)}: ${s}`),
  );
  assert.deepEqual(bad, []);
});

test('server and SDK read the same codes and paths: one declaration', () => {
  // The server runs on the built package (@hubcast/client/wire); these tests on its sources.
  assert.equal(server.ErrorCode, installed.ErrorCode);
  assert.equal(ErrorCode, installed.ErrorCode);
  assert.deepEqual(
    { ...installed.ErrorCode, ...installed.CloseCode },
    { ...shared.ErrorCode, ...shared.CloseCode },
    'packages/client/dist is built from these sources',
  );
  assert.equal(WS_PATH, shared.WS_PATH);
  assert.equal(SDK_WS_PATH, shared.WS_PATH);
  assert.equal(SSE_PATH, SDK_SSE_PATH);
});

test('a binary message the SDK encodes is what the server parses, and the other way round', () => {
  const bytes = new Uint8Array([0, 1, 2, 255]);
  const fromSdk = BinaryMessage.fromBytes(bytes, 'application/octet-stream', 'x.bin', 'files:a').encode();
  const fromServer = server.encodeBinaryMessage(
    { content_type: 'application/octet-stream', filename: 'x.bin', channel: 'files:a' },
    bytes,
  );
  assert.deepEqual(Buffer.from(fromSdk), fromServer, 'the same bytes on the wire');
  const parsed = server.parseBinaryMessage(Buffer.from(fromSdk));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.header, { content_type: 'application/octet-stream', filename: 'x.bin', channel: 'files:a' });
  assert.ok(Buffer.isBuffer(parsed.body), 'the server keeps a Buffer view (no copy)');
  assert.deepEqual([...parsed.body], [0, 1, 2, 255]);
  const back = BinaryMessage.decode(fromServer);
  assert.equal(back.channel, 'files:a');
  assert.deepEqual([...back.bytes], [0, 1, 2, 255]);
});

test('a malformed binary frame: the same reason from both sides; only the server limits the header', () => {
  const short = new Uint8Array([0, 0]);
  const serverSays = server.parseBinaryMessage(Buffer.from(short));
  assert.equal(serverSays.ok, false);
  assert.throws(
    () => BinaryMessage.decode(short),
    (err: unknown) =>
      err instanceof ClientError &&
      err.code === 'invalid_binary' &&
      err.message === (serverSays as { message: string }).message,
  );

  const empty = shared.encodeBinary({ content_type: 'a', filename: 'b' }, new Uint8Array());
  new DataView(empty.buffer).setUint32(0, 0);
  assert.match(
    (server.parseBinaryMessage(Buffer.from(empty)) as { message: string }).message,
    /not between 1 and 16384/,
  );
  assert.equal(shared.decodeBinary(empty).ok, false, 'an empty header is no JSON object for the SDK either');

  const notJson = new Uint8Array([0, 0, 0, 1, 0x7b]);
  assert.match((shared.decodeBinary(notJson) as { message: string }).message, /^binary header is not valid JSON: /);
});
