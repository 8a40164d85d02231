import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { PRODUCT_CHANGED } from '../../src/broker/broker.js';
import { MemoryBroker } from '../../src/broker/memory.js';
import { CatalogConsumer } from '../../src/apps/catalog/consumer.js';
import { CatalogRepository } from '../../src/apps/catalog/repository.js';
import { MAX_INT32, MAX_PRICE } from '../../src/apps/catalog/change-event.js';
import { RecordingPublisher } from '../catalog/memory-catalog.js';
import { seededPglite } from '../catalog/fixture.js';
import { waitFor } from '../helpers/gateway.js';
import { SEED, cases, debug, outOfTime } from './harness.js';

// Hostile broker messages (docs/protocol.md, "Change events"): random bytes, random JSON, and change
// events with every field fuzzed, through the in-process broker into the real
// consumer and repository on PGlite. Each message is built with the outcome
// the protocol gives it (applied, duplicate, dead-lettered); every one must
// get exactly that, with a reason on every dead letter, the database must
// hold exactly the modelled products afterwards, the consumer must never
// treat hostile input as a transient failure or hit its "bug" path, and it
// must keep consuming.

type Expect = 'applied' | 'duplicate' | 'dead';
interface Case {
  body: Buffer;
  expect: Expect;
  /** For applied events: what the product becomes. */
  productId?: number;
  changes?: { price?: number; stock?: number };
  eventId?: string;
}

const UNKNOWN_PRODUCT = 1_999_999;

/** A field value and whether the protocol accepts it. */
type Field = { ok: boolean; value: unknown } | { ok: boolean; missing: true };
const good = (value: unknown): Field => ({ ok: true, value });
const bad = (value: unknown): Field => ({ ok: false, value });
const missing: Field = { ok: false, missing: true };

const anyJson = fc.jsonValue({ maxDepth: 3 });

const badEventId = fc
  .oneof(
    fc.constantFrom(
      '',
      'oops',
      'not-a-uuid',
      '123e4567e89b12d3a456426614174000',
      '123e4567-e89b-12d3-a456-4266141740001',
      'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
      ' '.repeat(36),
      '123e4567-e89b-12d3-a456-42661417400\u0000',
    ),
    fc.string({ maxLength: 40 }).filter((s) => !/^[0-9a-f-]{36}$/i.test(s)),
    fc.integer(),
    fc.constantFrom(null, true, [], {}),
  )
  .map(bad);

// Good values weigh more: an event is valid only when every field is, and valid ones must be common.
const priceField = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 9_999_999_999 }).map((cents) => good(cents / 100)) },
  { weight: 4, arbitrary: fc.constantFrom(0.01, 19.99, MAX_PRICE, 1, 12.5).map(good) },
  fc.constantFrom(0, -1, -0.01, 1.234, 0.001, MAX_PRICE + 0.01, 1e8, 1e300, -1e300, 5e-324).map(bad),
  fc.constantFrom('1.00', '12', null, true, [], {}, [1]).map(bad),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .filter((d) => !(d > 0 && d <= MAX_PRICE && Number(d.toFixed(2)) === d))
    .map(bad),
);

const stockField = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: MAX_INT32 }).map(good) },
  { weight: 4, arbitrary: fc.constantFrom(0, 1, MAX_INT32).map(good) },
  fc.constantFrom(-1, 1.5, MAX_INT32 + 1, 2 ** 53, -(2 ** 31), 1e300, '3', null, false, [], {}).map(bad),
);

/** `changes`: price and/or stock, or something the protocol refuses. */
const changesField = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ price: priceField, stock: stockField }, { requiredKeys: [] }).map((r): Field => {
      const fields = Object.entries(r) as Array<[string, Field]>;
      if (fields.length === 0) return bad({});
      const value: Record<string, unknown> = {};
      for (const [k, f] of fields) value[k] = 'value' in f ? f.value : undefined;
      return { ok: fields.every(([, f]) => f.ok), value };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Field>(
      bad({}),
      bad({ color: 'red' }),
      bad({ price: 1, color: 'red' }),
      bad({ price: undefined, stock: undefined }),
      bad(null),
      bad([]),
      bad('price=1'),
      bad(7),
      missing,
    ),
  },
  {
    weight: 1,
    arbitrary: anyJson
      .filter(
        (v) =>
          typeof v !== 'object' ||
          v === null ||
          Array.isArray(v) ||
          Object.keys(v).some((k) => k !== 'price' && k !== 'stock') ||
          Object.keys(v).length === 0,
      )
      .map(bad),
  },
);

const occurredAtField = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
      .map((d) => good(d.toISOString())),
  },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(
        '2025-01-01T12:00:00Z',
        '2025-01-01T12:00:00+02:00',
        '2025-01-01T12:00:00.123456-05:30',
        '2025-01-01T12:00:00',
      )
      .map(good),
  },
  fc
    .constantFrom(
      '',
      'yesterday',
      '2025-13-01T00:00:00Z',
      '2025-01-01',
      '2025-02-30T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '2025-01-01T25:00:00Z',
      'NaN',
      '2025-01-01T12:00:00ZZ',
    )
    .map(bad),
  fc.constantFrom(0, 1735689600000, null, true, {}, []).map(bad),
  fc.constant(missing),
);

/** Top-level keys the protocol ignores: a producer may add metadata, hostile names included. */
const extras = fc.dictionary(
  fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'trace_id', 'x'),
    fc.string({ maxLength: 12 }),
  ),
  fc.oneof(anyJson, fc.constant('deep'), fc.constant('big')),
  { maxKeys: 3 },
);

const EVENT_KEYS = new Set(['event_id', 'product_id', 'changes', 'occurred_at']);

/** Serialize by hand so keys like `__proto__` reach the body as plain keys. */
function objectText(entries: Array<[string, unknown]>): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v === 'deep' ? '['.repeat(5000) + ']'.repeat(5000) : v === 'big' ? JSON.stringify('b'.repeat(200_000)) : JSON.stringify(v)}`).join(',')}}`;
}

/** The fuzzed shape of one change event; event_id and product_id are resolved against the run's state. */
const eventShape = fc.record({
  eventId: fc.oneof(
    { weight: 12, arbitrary: fc.constant('fresh' as const) },
    { weight: 2, arbitrary: fc.constant('reuse' as const) },
    { weight: 1, arbitrary: badEventId },
  ),
  product: fc.oneof(
    { weight: 16, arbitrary: fc.nat().map((n) => ({ kind: 'known' as const, n })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(UNKNOWN_PRODUCT, MAX_INT32).map((id) => ({ kind: 'unknown' as const, id })),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom<unknown>(0, -1, 1.5, '1', MAX_INT32 + 1, 1e300, null, true, [], {}, [1])
        .map((v) => ({ kind: 'bad' as const, value: v })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'missing' as const }) },
  ),
  changes: changesField,
  occurredAt: occurredAtField,
  extras,
  order: fc.nat(),
});

const rawBody = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
  anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc
    .constantFrom(
      '',
      ' ',
      'null',
      '[]',
      '{}',
      '"x"',
      '1',
      '{"event_id":',
      '\uFEFF{}',
      '{"__proto__":{"event_id":"x"}}',
      '{"event_id":"123e4567-e89b-42d3-a456-426614174000","event_id":"oops","product_id":1,"changes":{"stock":1},"occurred_at":"2025-01-01T00:00:00Z"}',
    )
    .map((s) => Buffer.from(s)),
  fc.constant(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])),
  fc.constant(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000))),
);

test('hostile broker messages: each applied, duplicate or dead-lettered with a reason as the protocol says; the consumer goes on', async (t) => {
  const seeded = await seededPglite();
  t.after(() => seeded.close());
  const repository = new CatalogRepository(seeded.db);
  const productIds = await repository.productIds();
  const model = new Map(
    (await repository.list()).map((p) => [p.id, { price: p.price, stock: p.stock, version: p.version }]),
  );

  // Warnings and errors are kept: the consumer's "bug" path and failed dead-lettering must never show.
  const logLines: string[] = [];
  const sink = new Writable({
    write: (chunk, _enc, done) => {
      logLines.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'warn' }, sink);
  const broker = new MemoryBroker({ logger });
  const publisher = new RecordingPublisher();
  const consumer = new CatalogConsumer({
    broker,
    applier: repository,
    publisher,
    logger,
    retryDelayMs: 5,
    retryMaxDelayMs: 20,
  });
  await consumer.start();
  t.after(async () => {
    await consumer.stop();
    await broker.close();
  });

  const total = cases(1000, 40_000);
  const BATCH = 200;
  const appliedIds: string[] = [];
  const expectedDead: Buffer[] = [];
  let expectApplied = 0;
  let expectDuplicate = 0;
  let sent = 0;
  const started = Date.now();
  let batchNo = 0;
  const gen = (arb: fc.Arbitrary<unknown>, n: number) => fc.sample(arb, { seed: SEED + batchNo * 7919, numRuns: n });

  while (sent < total && !outOfTime(started)) {
    batchNo++;
    const n = Math.min(BATCH, total - sent);
    const shapes = gen(fc.oneof({ weight: 3, arbitrary: eventShape }, { weight: 1, arbitrary: rawBody }), n);
    const batch: Case[] = [];
    // Duplicates reuse event ids applied in earlier batches only: settled, so a duplicate whatever runs when.
    for (const shape of shapes) {
      if (Buffer.isBuffer(shape)) {
        batch.push({ body: shape, expect: 'dead' });
        continue;
      }
      const s = shape as any; // an eventShape value
      const entries: Array<[string, unknown]> = [];
      let ok = true;
      let duplicate = false;
      let eventId: string | undefined;
      if (s.eventId === 'fresh') eventId = randomUUID();
      else if (s.eventId === 'reuse' && appliedIds.length > 0) {
        eventId = appliedIds[s.order % appliedIds.length];
        duplicate = true;
      } else if (s.eventId === 'reuse') eventId = randomUUID();
      if (eventId !== undefined) entries.push(['event_id', eventId]);
      else if ('missing' in s.eventId) ok = false;
      else {
        ok = false;
        entries.push(['event_id', s.eventId.value]);
      }
      let productId: number | undefined;
      let unknown = false;
      if (s.product.kind === 'known') productId = productIds[s.product.n % productIds.length];
      else if (s.product.kind === 'unknown') {
        productId = s.product.id;
        unknown = true;
      }
      if (productId !== undefined) entries.push(['product_id', productId]);
      else if (s.product.kind === 'bad') {
        ok = false;
        entries.push(['product_id', s.product.value]);
      } else ok = false;
      for (const [key, field] of [
        ['changes', s.changes],
        ['occurred_at', s.occurredAt],
      ] as Array<[string, Field]>) {
        if (!field.ok) ok = false;
        if ('value' in field) entries.push([key, field.value]);
      }
      for (const [k, v] of Object.entries(s.extras as Record<string, unknown>))
        if (!EVENT_KEYS.has(k)) entries.push([k, v]);
      // Shuffle the key order: a parser must not depend on it.
      const rotate = s.order % entries.length;
      const ordered = [...entries.slice(rotate), ...entries.slice(0, rotate)];
      const body = Buffer.from(objectText(ordered));
      // A well-formed copy of an applied event_id changes nothing, whatever product it names.
      if (ok && duplicate) batch.push({ body, expect: 'duplicate' });
      else if (!ok || unknown) batch.push({ body, expect: 'dead' });
      else {
        const changes = (s.changes as { value: { price?: number; stock?: number } }).value;
        batch.push({ body, expect: 'applied', productId, changes, eventId });
      }
    }
    for (const c of batch) {
      if (c.expect === 'dead') expectedDead.push(c.body);
      else if (c.expect === 'duplicate') expectDuplicate++;
      else {
        expectApplied++;
        // Events of one product are applied in publish order: the model follows the same order.
        const p = model.get(c.productId!)!;
        if (c.changes!.price !== undefined) p.price = c.changes!.price;
        if (c.changes!.stock !== undefined) p.stock = c.changes!.stock;
        p.version++;
      }
      await broker.publish(PRODUCT_CHANGED, c.body);
    }
    sent += batch.length;
    await waitFor(
      () => {
        const st = consumer.stats();
        const d = broker.depth();
        return st.received === sent && st.inFlight === 0 && d.ready === 0 && d.unacked === 0;
      },
      30_000,
      `batch ${batchNo} to settle`,
    );
    for (const c of batch) if (c.expect === 'applied') appliedIds.push(c.eventId!);
    const st = consumer.stats();
    debug(`broker batch ${batchNo}: sent ${sent}`, st);
    assert.equal(st.retried, 0, 'hostile input is never treated as a transient failure');
    assert.equal(st.publishFailed, 0);
    assert.equal(st.applied, expectApplied, 'applied as modelled');
    assert.equal(st.duplicates, expectDuplicate, 'duplicates as modelled');
    assert.equal(st.deadLettered, expectedDead.length, 'dead-lettered as modelled');
  }

  // Every dead letter is one of the expected bodies (as a multiset) and names its reason.
  const dead = broker.deadLetters();
  const key = (b: Buffer) => b.toString('base64');
  const want = new Map<string, number>();
  for (const b of expectedDead) want.set(key(b), (want.get(key(b)) ?? 0) + 1);
  for (const d of dead) {
    assert.ok(
      typeof d.reason === 'string' && d.reason.length > 0 && d.reason.length < 2000,
      `a short reason: ${d.reason.slice(0, 200)}`,
    );
    const k = key(d.body);
    assert.ok(
      (want.get(k) ?? 0) > 0,
      `dead-lettered but modelled valid: ${d.body.toString().slice(0, 300)} (${d.reason})`,
    );
    want.set(k, want.get(k)! - 1);
  }
  // The database holds exactly the modelled catalog, and each applied version was announced once per channel.
  for (const p of await repository.list())
    assert.deepEqual({ price: p.price, stock: p.stock, version: p.version }, model.get(p.id), `product ${p.id}`);
  const misrouted = publisher.published.filter(
    (p) => p.channel !== 'products' && p.channel !== `product:${(p.data as { id: number }).id}`,
  );
  assert.deepEqual(
    misrouted.map((p) => `${p.channel} ← product ${(p.data as { id: number }).id}`),
    [],
    'product:<id> carries product <id> only',
  );
  assert.equal(
    publisher.published.length,
    2 * expectApplied,
    'one announcement per applied change on each channel, none for duplicates',
  );

  // Still consuming: one more ordinary event is applied.
  const id = productIds[0];
  await broker.publish(
    PRODUCT_CHANGED,
    Buffer.from(
      JSON.stringify({
        event_id: randomUUID(),
        product_id: id,
        changes: { stock: 7 },
        occurred_at: new Date().toISOString(),
      }),
    ),
  );
  await waitFor(async () => (await repository.get(id))?.stock === 7, 10_000, 'the canary to apply');

  const bugs = logLines.filter((l) => /bug|dead-lettering failed/.test(l));
  assert.deepEqual(bugs, [], 'no consumer task failed');
  const st = consumer.stats();
  console.log(
    `[fuzz broker-messages] seed=${SEED} cases=${sent} in ${Date.now() - started} ms: applied ${st.applied}, duplicates ${st.duplicates}, dead-lettered ${st.deadLettered}`,
  );
});
