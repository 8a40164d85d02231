/**
 * docs/asyncapi.json describes every frame the transports parse and write,
 * every error code, system event and notice, and the broker message; every
 * reference in it resolves. No services; reads files only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, SystemEvent, SystemType } from '../../src/codes.js';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { chatApp } from '../../src/apps/chat/app.js';
import { parseClientFrame, signalTypes } from '../../src/transports/ws/protocol.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = JSON.parse(readFileSync(join(ROOT, 'docs', 'asyncapi.json'), 'utf8')) as any;
const text = JSON.stringify(doc);

function files(path: string): string[] {
  return statSync(path).isDirectory() ? readdirSync(path).flatMap((n) => files(join(path, n))) : [path];
}

function resolvePointer(pointer: string): unknown {
  assert.ok(pointer.startsWith('#/'), `local $ref: ${pointer}`);
  return pointer
    .slice(2)
    .split('/')
    .reduce<any>(
      (node, key) => (node === undefined ? undefined : node[key.replace(/~1/g, '/').replace(/~0/g, '~')]),
      doc,
    );
}

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refs(n, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) k === '$ref' && typeof v === 'string' ? out.push(v) : refs(v, out);
  }
  return out;
}

/** `type` consts of the payloads of the messages an operation lists. */
function frameTypes(operation: string): string[] {
  const op = doc.operations[operation];
  assert.ok(op, `operation ${operation}`);
  return op.messages.map((m: { $ref: string }) => {
    // Operation → channel message → component message → payload schema.
    const message = resolvePointer((resolvePointer(m.$ref) as { $ref: string }).$ref) as any;
    return (resolvePointer(message.payload.$ref) as any).properties.type.const;
  });
}

test('AsyncAPI 3 document: structure and references', () => {
  assert.equal(doc.asyncapi, '3.0.0');
  assert.ok(doc.info.title && doc.info.version);
  const dangling = refs(doc).filter((r) => resolvePointer(r) === undefined);
  assert.deepEqual(dangling, [], 'unresolved $ref');
  for (const [name, op] of Object.entries<any>(doc.operations)) {
    assert.ok(op.action === 'send' || op.action === 'receive', `${name}.action`);
    // An operation's messages must be messages of its own channel (AsyncAPI 3 rule).
    for (const m of op.messages)
      assert.ok(m.$ref.startsWith(`${op.channel.$ref}/messages/`), `${name}: ${m.$ref} on ${op.channel.$ref}`);
  }
  for (const name of ['websocket', 'tcp', 'sse', 'poll', 'catalogBroker', 'webrtcSignaling'])
    assert.ok(doc.channels[name], `channel ${name}`);
});

test('every client frame type the parser accepts is a message the gateway receives', () => {
  const r = parseClientFrame('{"type":"no_such_type"}');
  assert.ok(!r.ok);
  const accepted = /expected one of (.+)$/.exec(r.message)![1].split(', ');
  assert.ok(accepted.length >= 5);
  assert.deepEqual(
    accepted.filter((t) => !frameTypes('wsClientFrames').includes(t)),
    [],
  );
});

test('every frame type the transports write is a message the gateway sends', () => {
  const written = new Set<string>();
  for (const dir of ['ws', 'sse', 'tcp', 'poll', 'webrtc']) {
    for (const file of files(join(ROOT, 'src', 'transports', dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\btype: '([a-z_]+)'/g)) written.add(m[1]);
    }
  }
  for (const file of files(join(ROOT, 'src', 'hub')))
    for (const m of readFileSync(file, 'utf8').matchAll(/"type":"([a-z_]+)"|\btype: '([a-z_]+)'/g))
      written.add(m[1] ?? m[2]);
  const sent = new Set([...frameTypes('wsServerFrames'), ...frameTypes('wsClientFrames')]);
  const systemTypes = new Set<string>(Object.values(SystemType));
  const missing = [...written].filter((t) => !sent.has(t) && !systemTypes.has(t));
  assert.ok(written.has('connected') && written.has('pong'), 'the extraction sees frames');
  assert.deepEqual(missing, [], 'server frame types missing from docs/asyncapi.json');
});

test('error codes, system events, system notices, signal types and commands are all named', () => {
  assert.deepEqual(
    [...doc.components.schemas.Error.properties.code.enum].sort(),
    [...Object.values(ErrorCode)].sort(),
    'error code enum = ErrorCode',
  );
  assert.deepEqual(
    [...doc.components.schemas.SystemNotice.properties.type.enum].sort(),
    [...Object.values(SystemType)].sort(),
  );
  assert.deepEqual(
    [...doc.components.schemas.WebrtcSignal.properties.signal_type.enum].sort(),
    [...signalTypes].sort(),
  );
  const events = [
    ...Object.values(SystemEvent),
    ...[catalogApp({ withGenerator: false }), chatApp()].flatMap((a) => a.events ?? []),
  ];
  assert.ok(events.includes('product.updated') && events.includes('chat.message'));
  for (const event of events) assert.ok(text.includes(event), `event ${event}`);
  const dispatch = readFileSync(join(ROOT, 'src', 'transports', 'ws', 'dispatch.ts'), 'utf8');
  const commands = [...dispatch.matchAll(/case '([a-z_]+)':/g)]
    .map((m) => m[1])
    .filter((c) => !['command', 'channel_message', 'text', 'json', 'webrtc_signal'].includes(c));
  assert.ok(commands.includes('join_channel'));
  const documented: string[] = doc.components.schemas.ClientCommand.properties.command.enum;
  assert.deepEqual(
    commands.filter((c) => !documented.includes(c)),
    [],
    'commands missing from ClientCommand',
  );
});
