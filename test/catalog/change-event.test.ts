import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  encodeChangeEvent,
  hasAtMostTwoDecimals,
  makeChangeEvent,
  parseChangeEvent,
} from '../../src/apps/catalog/change-event.js';

const valid = () => ({
  event_id: randomUUID(),
  product_id: 7,
  changes: { price: 19.99, stock: 3 },
  occurred_at: '2025-01-01T12:00:00.000Z',
});

function parse(value: unknown) {
  return parseChangeEvent(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));
}

describe('parseChangeEvent: valid events', () => {
  const cases: Array<[string, unknown]> = [
    ['price and stock', valid()],
    ['price only', { ...valid(), changes: { price: 0.5 } }],
    ['stock only, zero', { ...valid(), changes: { stock: 0 } }],
    ['integer price', { ...valid(), changes: { price: 20 } }],
    ['one decimal', { ...valid(), changes: { price: 20.5 } }],
    ['offset timestamp', { ...valid(), occurred_at: '2025-01-01T12:00:00+02:00' }],
    ['microseconds, no offset (Python isoformat)', { ...valid(), occurred_at: '2025-01-01T12:00:00.123456' }],
    ['extra top-level metadata is ignored', { ...valid(), source: 'erp' }],
  ];
  for (const [name, value] of cases) {
    it(name, () => {
      const r = parse(value);
      assert.ok(r.ok, r.ok ? '' : r.reason);
    });
  }

  it('returns the typed event, without unknown top-level keys', () => {
    const input = { ...valid(), source: 'erp' };
    const r = parse(input);
    assert.ok(r.ok);
    assert.deepEqual(r.event, {
      event_id: input.event_id,
      product_id: 7,
      changes: { price: 19.99, stock: 3 },
      occurred_at: input.occurred_at,
    });
  });
});

describe('parseChangeEvent: malformed events name the problem', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['empty body', '', /empty/],
    ['whitespace body', '   \n', /empty/],
    ['not JSON', 'hello', /not valid JSON/],
    ['truncated JSON', '{"event_id": "a', /not valid JSON/],
    ['JSON array', [], /expected a JSON object/],
    ['JSON string', '"text"', /expected a JSON object/],
    ['JSON null', 'null', /expected a JSON object/],
    ['missing event_id', { ...valid(), event_id: undefined }, /^event_id: /],
    ['event_id not a uuid', { ...valid(), event_id: 'abc' }, /^event_id: expected a UUID/],
    ['event_id a number', { ...valid(), event_id: 5 }, /^event_id: /],
    ['missing product_id', { ...valid(), product_id: undefined }, /^product_id: /],
    ['product_id zero', { ...valid(), product_id: 0 }, /^product_id: expected a positive integer/],
    ['product_id negative', { ...valid(), product_id: -3 }, /^product_id: expected a positive integer/],
    ['product_id fractional', { ...valid(), product_id: 1.5 }, /^product_id: expected a positive integer/],
    ['product_id a string', { ...valid(), product_id: '7' }, /^product_id: /],
    ['product_id beyond int32', { ...valid(), product_id: 2 ** 31 }, /^product_id: must be at most/],
    ['missing changes', { ...valid(), changes: undefined }, /^changes: /],
    ['changes null', { ...valid(), changes: null }, /^changes: /],
    ['changes an array', { ...valid(), changes: [] }, /^changes: /],
    ['changes empty', { ...valid(), changes: {} }, /^changes: must contain price or stock/],
    [
      'unknown key in changes',
      { ...valid(), changes: { price: 1, colour: 'red' } },
      /^changes: unknown key\(s\) "colour"/,
    ],
    ['price zero', { ...valid(), changes: { price: 0 } }, /^changes\.price: must be greater than 0/],
    ['price negative', { ...valid(), changes: { price: -1 } }, /^changes\.price: must be greater than 0/],
    [
      'price three decimals',
      { ...valid(), changes: { price: 19.999 } },
      /^changes\.price: must have at most 2 decimal places/,
    ],
    ['price a string', { ...valid(), changes: { price: '19.99' } }, /^changes\.price: expected a number/],
    ['price null', { ...valid(), changes: { price: null } }, /^changes\.price: /],
    ['price too large', { ...valid(), changes: { price: 1e9 } }, /^changes\.price: must be at most/],
    [
      'price infinite (1e400)',
      `{"event_id":"${randomUUID()}","product_id":1,"changes":{"price":1e400},"occurred_at":"2025-01-01T00:00:00Z"}`,
      /^changes\.price: /,
    ],
    ['stock negative', { ...valid(), changes: { stock: -1 } }, /^changes\.stock: must be 0 or more/],
    ['stock fractional', { ...valid(), changes: { stock: 2.5 } }, /^changes\.stock: expected an integer/],
    ['stock a string', { ...valid(), changes: { stock: '3' } }, /^changes\.stock: expected an integer/],
    ['stock beyond int32', { ...valid(), changes: { stock: 2 ** 31 } }, /^changes\.stock: must be at most/],
    ['missing occurred_at', { ...valid(), occurred_at: undefined }, /^occurred_at: /],
    [
      'occurred_at not a date',
      { ...valid(), occurred_at: 'yesterday' },
      /^occurred_at: expected an ISO-8601 date-time/,
    ],
    [
      'occurred_at date only',
      { ...valid(), occurred_at: '2025-01-01' },
      /^occurred_at: expected an ISO-8601 date-time/,
    ],
    ['occurred_at epoch number', { ...valid(), occurred_at: 1735732800000 }, /^occurred_at: /],
  ];
  for (const [name, value, reason] of cases) {
    it(name, () => {
      const r = parse(value);
      assert.equal(r.ok, false, `expected ${name} to be refused`);
      if (!r.ok) assert.match(r.reason, reason);
    });
  }

  it('says "is required" for a missing field', () => {
    const r = parse({ changes: { stock: 1 } });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.reason, 'event_id: is required; product_id: is required; occurred_at: is required');
  });

  it('reports several problems at once', () => {
    const r = parse({ event_id: 'x', product_id: -1, changes: { price: 1.234 }, occurred_at: 'no' });
    assert.equal(r.ok, false);
    if (!r.ok) {
      for (const field of ['event_id', 'product_id', 'changes.price', 'occurred_at'])
        assert.match(r.reason, new RegExp(`${field.replace('.', '\\.')}: `));
    }
  });

  it('never throws, whatever the bytes', () => {
    for (const bytes of [Buffer.from([0xff, 0xfe, 0x00]), Buffer.alloc(0), Buffer.from('{"__proto__": {"x": 1}}')]) {
      assert.equal(parseChangeEvent(bytes).ok, false);
    }
  });
});

describe('hasAtMostTwoDecimals', () => {
  for (const n of [1, 0.5, 19.99, 0.3, 999.99, 1234567.89]) {
    it(`${n} passes`, () => assert.equal(hasAtMostTwoDecimals(n), true));
  }
  for (const n of [19.999, 0.001, 0.1 + 0.2]) {
    it(`${n} fails`, () => assert.equal(hasAtMostTwoDecimals(n), false));
  }
});

describe('makeChangeEvent', () => {
  it('builds an event that parses back identically', () => {
    const event = makeChangeEvent({ productId: 3, changes: { stock: 9 } });
    const r = parseChangeEvent(encodeChangeEvent(event));
    assert.ok(r.ok);
    assert.deepEqual(r.event, event);
    assert.match(event.event_id, /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(event.occurred_at)));
  });

  it('uses given id and time', () => {
    const id = randomUUID();
    const at = new Date('2025-02-03T04:05:06.007Z');
    const event = makeChangeEvent({ productId: 1, changes: { price: 2.5 }, eventId: id, occurredAt: at });
    assert.equal(event.event_id, id);
    assert.equal(event.occurred_at, '2025-02-03T04:05:06.007Z');
  });

  it('refuses to build what the gateway would dead-letter', () => {
    assert.throws(() => makeChangeEvent({ productId: 1, changes: { price: 1.001 } }), /2 decimal places/);
    assert.throws(() => makeChangeEvent({ productId: 0, changes: { stock: 1 } }), /positive integer/);
    assert.throws(() => makeChangeEvent({ productId: 1, changes: {} }), /price or stock/);
  });
});
