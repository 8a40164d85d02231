import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Bystander, ChildGateway, KNOWN_CODES, SEED, cases, outOfTime, rssReport } from './harness.js';
import { channelish } from './arbitraries.js';

// Hostile bodies for the server API (`POST /realtime/send`, `/realtime/broadcast`)
// against a gateway with API_KEY set. An independent model of the protocol says
// what each request deserves: 200 for a valid body, the right 4xx otherwise —
// never a 5xx. A bystander's deliveries and the server's memory are checked too.

const API_KEY = 'fuzz-api-key-0123456789';
const BODY_LIMIT = 64 * 1024;
const CHANNEL = /^[A-Za-z0-9_\-:.@/=]{1,128}$/;
const EVENT = /^[A-Za-z0-9_.:-]+$/;

const anyValue = fc.jsonValue({ maxDepth: 3 });
const eventish = fc
  .oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), fc.string({ maxLength: 70 }), anyValue)
  .map((e) => (e === 'tick' ? 'tock' : e));
const deep = fc.integer({ min: 65, max: 1000 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)));

const sendBody = fc.record(
  {
    user_id: fc.oneof(
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.string({ minLength: 129, maxLength: 140 }),
      anyValue,
    ),
    channel: channelish,
    event: eventish,
    data: fc.oneof({ weight: 6, arbitrary: anyValue }, { weight: 1, arbitrary: deep }),
    extra: anyValue,
  },
  { requiredKeys: [] },
);
const validSendBody = fc.oneof(
  fc.record(
    {
      channel: fc.stringMatching(/^[A-Za-z0-9_\-:.@/=]{1,30}$/).filter((c) => c !== 'bystander'),
      event: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/).filter((e) => e !== 'tick'),
      data: anyValue,
    },
    { requiredKeys: ['channel', 'data'] },
  ),
  fc.record({ user_id: fc.string({ minLength: 1, maxLength: 128 }), data: anyValue }),
);
const broadcastBody = fc.record(
  {
    event: eventish,
    data: fc.oneof({ weight: 6, arbitrary: anyValue }, { weight: 1, arbitrary: deep }),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

/** Raw body text: JSON of a (maybe) valid body, garbage, or damaged JSON. */
const bodyText = (body: fc.Arbitrary<Record<string, unknown>>, valid?: fc.Arbitrary<Record<string, unknown>>) =>
  fc.oneof(
    { weight: 8, arbitrary: body.map((b) => JSON.stringify(b)) },
    ...(valid ? [{ weight: 4, arbitrary: valid.map((b) => JSON.stringify(b)) }] : []),
    { weight: 1, arbitrary: anyValue.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
    {
      weight: 1,
      arbitrary: fc.tuple(body, fc.nat()).map(([b, n]) => {
        const t = JSON.stringify(b);
        return t.slice(0, n % Math.max(1, t.length));
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"__proto__":{"admin":true},"data":1}',
        '{"channel":"x","data":{"constructor":{"prototype":{"polluted":1}}}}',
        '{"channel":"x","data":1,"channel":"y"}',
        '{"channel":"x","data":1e999}',
        '',
        ' ',
        'null',
        '\u0000',
        `{"channel":"big","data":"${'y'.repeat(BODY_LIMIT)}"}`,
      ),
    },
  );

interface Request {
  path: '/realtime/send' | '/realtime/broadcast';
  text: string;
  contentType: string | null;
  auth: string | null;
}

const request = fc
  .oneof(
    fc.record({ path: fc.constant('/realtime/send' as const), text: bodyText(sendBody, validSendBody) }),
    fc.record({
      path: fc.constant('/realtime/broadcast' as const),
      text: bodyText(broadcastBody, fc.record({ data: anyValue })),
    }),
  )
  .chain((r) =>
    fc.record({
      path: fc.constant(r.path),
      text: fc.constant(r.text),
      contentType: fc.oneof(
        { weight: 12, arbitrary: fc.constant('application/json') },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            'application/json; charset=utf-8',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/jsonx',
            'Application/JSON',
          ),
        },
        { weight: 1, arbitrary: fc.constant(null) },
      ),
      auth: fc.oneof(
        { weight: 12, arbitrary: fc.constant(`Bearer ${API_KEY}`) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            `bearer ${API_KEY}`,
            `Bearer ${API_KEY}x`,
            `Bearer ${API_KEY.slice(1)}`,
            'Bearer',
            'Basic Zm9vOmJhcg==',
            API_KEY,
            '',
          ),
        },
        { weight: 1, arbitrary: fc.constant(null) },
      ),
    }),
  );

/** JSON.parse that reports what Fastify's secure parser refuses: `__proto__` keys, `constructor.prototype`. */
function parseLikeServer(text: string): { ok: true; value: unknown } | { ok: false } {
  let poisoned = false;
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v) => {
      if (key === '__proto__') poisoned = true;
      if (key === 'constructor' && typeof v === 'object' && v !== null && Object.hasOwn(v, 'prototype'))
        poisoned = true;
      return v;
    });
  } catch {
    return { ok: false }; // invalid JSON: the model's answer is "400", nothing to recover
  }
  return poisoned ? { ok: false } : { ok: true, value };
}

function depth(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let max = 0;
  for (const c of Object.values(v)) max = Math.max(max, depth(c));
  return max + 1;
}

/** The status the protocol gives this request (the model), or a set of acceptable ones. */
function expected(r: Request): number[] {
  const key = r.auth !== null && /^bearer\s+(.+)$/i.exec(r.auth)?.[1].trim() === API_KEY;
  if (!key) return [401];
  // fetch sends a string body without a content type as text/plain;charset=UTF-8.
  const ct = r.contentType?.toLowerCase() ?? 'text/plain;charset=utf-8';
  // text/plain is parsed (to a string), so it fails as "not a JSON object"; other types are unsupported.
  if (/^text\/plain(;|$)/.test(ct)) return Buffer.byteLength(r.text) > BODY_LIMIT ? [413] : [400];
  if (!/^application\/json(;|$)/.test(ct)) return r.text === '' ? [400, 415] : [415];
  if (Buffer.byteLength(r.text) > BODY_LIMIT) return [413];
  if (r.text.trim() === '') return [400];
  const parsed = parseLikeServer(r.text);
  if (!parsed.ok) return [400];
  const b = parsed.value;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return [400];
  if (depth(b) > 64) return [400];
  const o = b as Record<string, unknown>;
  const allowed = r.path === '/realtime/send' ? ['user_id', 'channel', 'event', 'data'] : ['event', 'data'];
  if (Object.keys(o).some((k) => !allowed.includes(k))) return [400];
  if (!('data' in o)) return [400];
  if (
    'event' in o &&
    !(
      typeof o.event === 'string' &&
      o.event.length >= 1 &&
      o.event.length <= 64 &&
      EVENT.test(o.event) &&
      o.event !== 'system'
    )
  )
    return [400];
  if (r.path === '/realtime/send') {
    if ('user_id' in o === 'channel' in o) return [400];
    // user_id names channel user:<user_id>, so it follows the channel-name rules
    if ('user_id' in o && !(typeof o.user_id === 'string' && CHANNEL.test(`user:${o.user_id}`))) return [400];
    if ('channel' in o && !(typeof o.channel === 'string' && CHANNEL.test(o.channel))) return [400];
  }
  return [200];
}

test('hostile server-API bodies: the status the protocol gives, never a 5xx; bystanders unaffected; RSS comes back', async (t) => {
  const gw = await ChildGateway.start({ apiKey: API_KEY, maxBodyBytes: BODY_LIMIT, historySize: 50 });
  t.after(() => gw.proc.kill('SIGKILL'));
  // The bystander publishes through the API too: it needs the key.
  const bystander = await Bystander.start(gw.url, { authorization: `Bearer ${API_KEY}` });
  t.after(() => bystander.close());
  const total = cases(1200, 20_000);
  const BATCH = 200;
  const CONCURRENCY = 16;
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  let base = null;
  const started = Date.now();
  let done = 0;
  for (let batch = 0; done < total && !outOfTime(started); done += BATCH, batch++) {
    const list = fc.sample(request, { seed: SEED + 1000 + batch, numRuns: Math.min(BATCH, total - done) }) as Request[];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < list.length) {
          const r = list[next++];
          const headers: Record<string, string> = {};
          if (r.contentType !== null) headers['content-type'] = r.contentType;
          if (r.auth !== null) headers.authorization = r.auth;
          const res = await fetch(`${gw.url}${r.path}`, { method: 'POST', headers, body: r.text });
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const want = expected(r);
          let body: any = null;
          try {
            body = JSON.parse(text);
          } catch {
            body = null; // checked just below: every answer must be JSON
          }
          const shape =
            res.status === 200
              ? typeof body?.id === 'string'
              : KNOWN_CODES.has(body?.error?.code) && body.error.code !== 'internal_error';
          if (!want.includes(res.status) || !shape || res.status >= 500) {
            problems.push(
              `${r.path} ${JSON.stringify(r).slice(0, 300)} → ${res.status} ${text.slice(0, 200)} (model: ${want})`,
            );
          }
        }
      }),
    );
    if (batch === 1) base = await gw.memory();
    assert.ok(gw.alive, `gateway died (exit ${gw.exitCode}), seed ${SEED}`);
    assert.deepEqual(problems.slice(0, 5), [], `seed ${SEED}`);
  }
  const { sent } = await bystander.verify();
  bystander.close();
  const end = await gw.settled();
  // Every hostile input is refused on purpose: none may reach the handler guard (src/transports/guard.ts).
  assert.equal(end.stats.handler_errors, 0, `a handler threw (see the gateway's log), seed ${SEED}`);
  t.diagnostic(
    rssReport('http-bodies', base!, end, Math.min(done, total), Date.now() - started) +
      `; statuses ${JSON.stringify(Object.fromEntries(statuses))}; bystander events ${sent}`,
  );
  assert.ok((statuses.get(200) ?? 0) > Math.min(done, total) / 10, 'a fair share of valid bodies was generated');
  assert.ok(end.rss <= base!.rss * 1.1 + 8 * 1048576, `RSS ${end.rss} vs ${base!.rss} after the warm-up`);
  await gw.stop();
});
