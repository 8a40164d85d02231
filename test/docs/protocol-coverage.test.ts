import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode, ErrorCode, SystemEvent, SystemType } from '../../src/codes.js';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { chatApp } from '../../src/apps/chat/app.js';

/** Event names the server publishes: the core's and those the built-in applications declare. */
const SERVER_EVENTS = [
  ...Object.values(SystemEvent),
  ...[catalogApp({ withGenerator: false }), chatApp()].flatMap((a) => a.events ?? []),
];
import { parseClientFrame, signalTypes } from '../../src/transports/ws/protocol.js';

/**
 * docs/protocol.md is the project's whole wire specification: every wire name
 * the code can put on the wire must be in it, and nothing in the repository
 * may defer to a document outside it. No services; reads files only.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROTOCOL = join(ROOT, 'docs', 'protocol.md');
const read = (path: string) => readFileSync(path, 'utf8');

/** Where references to outside documents would hide. */
const SCANNED = [
  'src',
  'test',
  'docs',
  'examples',
  'bench',
  'scripts',
  'deploy',
  'bin',
  '.ci',
  'README.md',
  'package.json',
];
const TEXT = new Set([
  '.ts',
  '.js',
  '.mjs',
  '.cjs',
  '.md',
  '.sh',
  '.json',
  '.conf',
  '.yml',
  '.yaml',
  '.html',
  '.txt',
  '',
]);

function files(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return TEXT.has(extname(path)) ? [path] : [];
  return readdirSync(path).flatMap((name) =>
    name === 'node_modules' || name.startsWith('dist') ? [] : files(join(path, name)),
  );
}

// Spelled in pieces so this file does not match itself.
const OUTSIDE = [new RegExp(`\\b${'CON'}${'TRACT'}\\b`), new RegExp(`/work/${'shared'}`)];

test('nothing in the repository refers to a specification outside it', () => {
  const hits: string[] = [];
  for (const file of SCANNED.flatMap((p) => files(join(ROOT, p)))) {
    read(file)
      .split('\n')
      .forEach((line, i) => {
        if (OUTSIDE.some((re) => re.test(line)))
          hits.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
  }
  assert.deepEqual(hits, [], 'point at docs/protocol.md instead');
});

test('relative links in README.md and docs/ lead to files inside the repository', () => {
  const broken: string[] = [];
  for (const file of [join(ROOT, 'README.md'), ...files(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))]) {
    for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      const path = resolve(dirname(file), decodeURIComponent(target.split('#')[0]));
      if (!(path + sep).startsWith(ROOT + sep) || !existsSync(path)) broken.push(`${relative(ROOT, file)} → ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

/** The client frame types the server parses, from the parser's own refusal (it lists the schema's keys). */
function clientFrameTypes(): string[] {
  const r = parseClientFrame('{"type":"no_such_type"}');
  assert.ok(!r.ok);
  const list = /expected one of (.+)$/.exec(r.message)?.[1];
  assert.ok(list, `unknown_type message lists the types: ${r.message}`);
  return list.split(', ');
}

/** `case '…':` labels of the WS dispatcher: frame types and command names; and the commands the TCP transport handles itself. */
function dispatchedNames(): string[] {
  const source = read(join(ROOT, 'src', 'transports', 'ws', 'dispatch.ts'));
  // The TCP transport's own commands (the auth handshake) are compared where it reads them, in any of its modules.
  const tcp = files(join(ROOT, 'src', 'transports', 'tcp'))
    .map(read)
    .join('\n');
  return [
    ...[...source.matchAll(/case '([a-z_]+)':/g)].map((m) => m[1]),
    ...[...tcp.matchAll(/command !== '([a-z_]+)'/g)].map((m) => m[1]),
  ];
}

/** `type` values of frames the server writes (transports, signaling, hub publications, SDK frame types). */
function serverFrameTypes(): string[] {
  const sources = [
    ...files(join(ROOT, 'src', 'transports', 'ws')),
    ...files(join(ROOT, 'src', 'transports', 'sse')),
    ...files(join(ROOT, 'src', 'transports', 'tcp')),
    ...files(join(ROOT, 'src', 'transports', 'poll')),
    ...files(join(ROOT, 'src', 'transports', 'webrtc')),
    ...files(join(ROOT, 'src', 'hub')),
    ...files(join(ROOT, 'packages', 'client', 'src', 'wire')),
    ...files(join(ROOT, 'src', 'wire')),
  ];
  const names = new Set<string>();
  for (const file of sources) {
    const text = read(file);
    for (const m of text.matchAll(/\btype: '([a-z_]+)'/g)) names.add(m[1]);
    for (const m of text.matchAll(/"type":"([a-z_]+)"/g)) names.add(m[1]);
  }
  return [...names];
}

/** What is missing from `doc`: each name must appear as `name` (code span), rows as a table row of their own. */
function missingFromProtocol(doc: string): string[] {
  const missing: string[] = [];
  const mentioned = (name: string | number) => doc.includes(`\`${name}\``) || doc.includes(`"${name}"`);
  const row = (name: string | number) =>
    new RegExp(`^\\| \`${String(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`[ |]`, 'm').test(doc);
  for (const code of Object.values(ErrorCode))
    if (!row(code)) missing.push(`error code ${code} (a row of the Errors table)`);
  for (const code of Object.values(CloseCode))
    if (!row(code)) missing.push(`close code ${code} (a row of the close code table)`);
  for (const type of Object.values(SystemType))
    if (!row(type)) missing.push(`system event type ${type} (a row of the System events table)`);
  for (const event of SERVER_EVENTS) if (!mentioned(event)) missing.push(`event name ${event}`);
  for (const type of clientFrameTypes())
    if (!row(type)) missing.push(`client frame type ${type} (a row of the client frame table)`);
  for (const name of dispatchedNames()) if (!row(name)) missing.push(`frame type or command ${name} (a table row)`);
  for (const type of serverFrameTypes()) if (!mentioned(type)) missing.push(`server frame type ${type}`);
  for (const signal of signalTypes) if (!mentioned(signal)) missing.push(`signal_type ${signal}`);
  return missing;
}

test('docs/protocol.md names every error code, close code, system event, frame type and command', () => {
  assert.deepEqual(missingFromProtocol(read(PROTOCOL)), []);
});

test('the coverage check sees what it checks for', () => {
  // Guards the extractors: an empty list would make the check above pass on any document.
  assert.ok(clientFrameTypes().includes('webrtc_signal'));
  assert.ok(dispatchedNames().includes('auth'));
  assert.ok(dispatchedNames().includes('refresh_token'));
  assert.ok(serverFrameTypes().includes('connected') && serverFrameTypes().includes('pong'));
  assert.ok(missingFromProtocol('').length > 40);
});
