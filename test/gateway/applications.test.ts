/**
 * Registering applications (src/gateway/applications.ts): each declaration
 * does what docs/applications.md says, and a bad one fails the start with
 * both names, after releasing what earlier applications opened.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Application } from '../../src/application.js';
import { catalogChannels, postJson, startGateway, waitFor } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';

test('one application: migrations, channels, default stream, page, route, component stats and metrics, close', async () => {
  let closed = 0;
  let added = 0;
  const notes: Application = {
    name: 'notes',
    channels: [{ pattern: 'notes:*', publish: 'server' }],
    defaultChannels: ['notes:all'],
    events: ['note.added'],
    migrations: {
      table: 'notes_schema_migrations',
      list: [{ version: 1, name: 'notes', sql: 'CREATE TABLE notes (id serial PRIMARY KEY, text text NOT NULL)' }],
    },
    metrics: { notes_added: { name: 'hubcast_notes_added_total', help: 'Notes added', kind: 'counter' } },
    routes: {
      'POST /api/notes': { summary: 'Add a note', tag: 'notes' },
      'GET /notes': { summary: 'Notes page', tag: 'pages' },
    },
    async setup(ctx) {
      const db = await ctx.database();
      ctx.http.post('/api/notes', async (req) => {
        const [row] = await db.query<{ id: number }>('INSERT INTO notes (text) VALUES ($1) RETURNING id', [
          String((req.body as { text?: unknown }).text),
        ]);
        added++;
        await ctx.publisher.publish('notes:all', 'note.added', { id: row.id });
        return row;
      });
      ctx.page('/notes', '<!doctype html><title>notes</title>');
      ctx.component({
        name: 'notes',
        ready: () => true,
        close: async () => void closed++,
        stats: () => ({ notes_added: added }),
      });
    },
  };
  const gw = await startGateway({}, [notes]);
  try {
    const stream = new AbortController();
    const res = await fetch(`${gw.url}/realtime/events`, { signal: stream.signal });
    let text = '';
    const reading = (async () => {
      for await (const c of res.body!) text += Buffer.from(c as Uint8Array).toString();
    })().catch(() => undefined);
    await waitFor(() => text.includes('"channels":["notes:all"]'), 5000, 'the default channel joined');
    assert.deepEqual((await postJson(`${gw.url}/api/notes`, { text: 'hi' })).body, { id: 1 });
    await waitFor(() => text.includes('event: note.added\ndata: {"id":1}'), 5000, 'the note on the default stream');
    stream.abort();
    await reading;

    const ws = await TestWs.open(gw.wsUrl);
    ws.send({ type: 'channel_message', channel: 'notes:x', message: 1, ref: 'p' });
    assert.equal((await ws.next((f) => f.ref === 'p')).code, 'forbidden');
    ws.close();

    const page = await fetch(`${gw.url}/notes`);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal((await (await fetch(`${gw.url}/realtime/stats`)).json()).notes_added, 1);
    assert.match(await (await fetch(`${gw.url}/metrics`)).text(), /^hubcast_notes_added_total 1$/m);
    assert.equal((await (await fetch(`${gw.url}/readyz`)).json()).checks.notes, true);
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { tags: string[] }>>;
    };
    assert.deepEqual(doc.paths['/api/notes'].post.tags, ['notes']);
    assert.ok(gw.gateway.events().includes('note.added'));
    const db = await gw.gateway.database();
    assert.deepEqual(await db.query('SELECT version, name FROM notes_schema_migrations'), [
      { version: 1, name: 'notes' },
    ]);
  } finally {
    await gw.close();
  }
  assert.equal(closed, 1, 'its component closed with the gateway');
});

test('a bad declaration fails the start naming it; what earlier applications opened is closed', async () => {
  let closed = 0;
  const first: Application = {
    name: 'first',
    setup: (ctx) => ctx.component({ name: 'first', ready: () => true, close: async () => void closed++ }),
  };
  const cases: Array<[Application[], RegExp]> = [
    [[first, { name: 'Bad Name' }], /application name "Bad Name"/],
    [[first, { name: 'first' }], /application first is registered already/],
    [
      [first, catalogChannels, { name: 'shop', channels: [{ pattern: 'product:*', publish: 'server' }] }],
      /shop: channel pattern product:\* overlaps product:\*, claimed by catalog/,
    ],
    [
      [first, { name: 'files-too', channels: [{ pattern: 'files', publish: 'server' }] }],
      /overlaps files, claimed by uploads/,
    ],
    [
      [first, { name: 'm', metrics: { connections: { name: 'hubcast_x', help: 'x', kind: 'gauge' } } }],
      /stats field connections has a metric already/,
    ],
    [
      [first, { name: 'r', routes: { 'GET /healthz': { summary: 'x', tag: 'x' } } }],
      /route GET \/healthz is documented already/,
    ],
    [[first, { name: 'd', defaultChannels: ['no spaces'] }], /default channel "no spaces"/],
    [
      [
        first,
        {
          name: 'boom',
          setup: () => {
            throw new Error('boom at setup');
          },
        },
      ],
      /boom at setup/,
    ],
  ];
  for (const [apps, message] of cases) {
    const before = closed;
    await assert.rejects(startGateway({}, apps), message);
    assert.equal(closed, before + 1, `${message}: the first application's component closed`);
  }
});
