import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import WebSocket from 'ws';
import { createHmac } from 'node:crypto';
import { Bystander, ChildGateway, KNOWN_CODES, SEED, cases, outOfTime, rssReport } from './harness.js';
import { channelish } from './arbitraries.js';

// Hostile tokens, SSE query strings and raw HTTP heads against a gateway with
// auth on. A model of docs/protocol.md (SSE, Auth) says which status each request deserves
// (tokens: 101/200 only for a correctly signed token with sane claims; SSE: 400,
// 401, 403 or 200 in the handler's order of checks); raw garbage must never get
// a 5xx. A bystander keeps receiving, and the server's RSS comes back.

const SECRET = 'fuzz-jwt-secret-0123456789abcdef';
const KEY = Buffer.from(SECRET);
const SUB = 'fuzzer';
const GRANTS = ['fuzz:*'];
const CHANNEL = /^[A-Za-z0-9_\-:.@/=]{1,128}$/;
const MAX_CHANNELS = 8;
const now = () => Math.floor(Date.now() / 1000);

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
type Infer<A> = A extends fc.Arbitrary<infer T> ? T : never;
/** HS256 by hand: any claims at all (a JOSE library refuses to sign the malformed ones we need). */
function signWith(
  secret: string | Uint8Array,
  payload: unknown,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
async function signed(payload: Record<string, unknown>): Promise<string> {
  return signWith(KEY, payload);
}

// ---- tokens ------------------------------------------------------------------

type TokenCase = { token: string; accept: 'yes' | 'no' | 'either'; carrier: 'query' | 'header' | 'subprotocol' };

const claimValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);
const claims = fc.record(
  {
    sub: fc.oneof(
      { weight: 4, arbitrary: fc.constant(SUB) },
      { weight: 1, arbitrary: claimValue },
      { weight: 1, arbitrary: fc.constant('') },
    ),
    channels: fc.oneof(fc.constant(GRANTS), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), claimValue),
    exp: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 60, max: 86_400 }).map((d) => now() + d) },
      { weight: 1, arbitrary: fc.integer({ min: -86_400, max: -1 }).map((d) => now() + d) },
      { weight: 1, arbitrary: claimValue },
    ),
    nbf: fc.oneof(
      fc.integer({ min: -3600, max: 3600 }).map((d) => now() + d),
      claimValue,
    ),
    iat: fc.oneof(fc.constant(now()), claimValue),
  },
  { requiredKeys: [] },
);

/** Would jose accept these claims (no clock tolerance), and would hubcast? */
function claimsOk(c: Record<string, unknown>): 'yes' | 'no' | 'either' {
  if (typeof c.sub !== 'string' || c.sub === '') return 'no';
  if (c.channels !== undefined && !(Array.isArray(c.channels) && c.channels.every((x) => typeof x === 'string')))
    return 'no';
  if (c.iat !== undefined && typeof c.iat !== 'number') return 'no';
  if (c.exp !== undefined && typeof c.exp !== 'number') return 'no';
  if (c.nbf !== undefined && typeof c.nbf !== 'number') return 'no';
  const t = now();
  // A second either side of a boundary may fall either way by the time the server checks.
  if (typeof c.exp === 'number' && Math.abs(c.exp - t) <= 2) return 'either';
  if (typeof c.nbf === 'number' && Math.abs(c.nbf - t) <= 2) return 'either';
  if (typeof c.exp === 'number' && c.exp <= t) return 'no';
  if (typeof c.nbf === 'number' && c.nbf > t) return 'no';
  return 'yes';
}

const mutation = fc.record({
  part: fc.nat({ max: 2 }),
  at: fc.nat(),
  op: fc.nat({ max: 3 }),
  ch: fc.constantFrom('A', 'a', '_', '-', '.', '=', '+', '/', '!', ' ', '%', '\u00e9'),
});
function mutate(
  token: string,
  m: { part: number; at: number; op: number; ch: string },
): { token: string; sameBytes: boolean } {
  const parts = token.split('.');
  const p = parts[m.part];
  const i = p.length === 0 ? 0 : m.at % p.length;
  parts[m.part] =
    m.op === 0
      ? p.slice(0, i) + m.ch + p.slice(i)
      : m.op === 1
        ? p.slice(0, i) + p.slice(i + 1)
        : m.op === 2
          ? p.slice(0, i) + m.ch + p.slice(i + 1)
          : p + p;
  const out = parts.join('.');
  // A change in the header or payload text changes the signing input: never valid. In the
  // signature a change that decodes to the same bytes (non-canonical base64) may pass.
  const sameBytes =
    m.part === 2 && Buffer.from(parts[2], 'base64url').equals(Buffer.from(token.split('.')[2], 'base64url'));
  return { token: out, sameBytes };
}

const tokenCase = fc.record({
  kind: fc.nat({ max: 5 }),
  claims,
  mutation,
  text: fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.stringMatching(/^[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,60}\.[A-Za-z0-9_-]{0,43}$/),
  ),
  header: fc.constantFrom<Record<string, unknown>>(
    { alg: 'none' },
    { alg: 'HS512' },
    { alg: 'RS256' },
    { alg: 'HS256', crit: ['exp'] },
    { alg: 'HS256', b64: false, crit: ['b64'] },
    {},
  ),
  carrier: fc.constantFrom('query', 'header', 'subprotocol'),
});

async function buildToken(c: Infer<typeof tokenCase>): Promise<TokenCase> {
  const carrier = c.carrier as TokenCase['carrier'];
  switch (c.kind) {
    case 0: // signed properly, claims fuzzed
    case 1:
      // The model judges what the token carries: JSON turns NaN and Infinity into null.
      return { token: await signed(c.claims), accept: claimsOk(JSON.parse(JSON.stringify(c.claims))), carrier };
    case 2: {
      const original = await signed({ sub: SUB, exp: now() + 3600 });
      const m = mutate(original, c.mutation);
      // A replacement by the same character leaves the token as it was: still valid.
      return { token: m.token, accept: m.token === original ? 'yes' : m.sameBytes ? 'either' : 'no', carrier };
    }
    case 3: // a header the server must refuse, with an HS256 signature (or none) over it
      return {
        token: `${b64(c.header)}.${b64({ sub: SUB, exp: now() + 3600 })}.${(await signed({ sub: SUB })).split('.')[2]}`,
        accept: 'no',
        carrier,
      };
    case 4: // signed with another key
      return { token: signWith(`x${SECRET}`, { sub: SUB, exp: now() + 3600 }), accept: 'no', carrier };
    default:
      return { token: c.text, accept: 'no', carrier };
  }
}

async function wsStatus(url: string, t: TokenCase): Promise<number> {
  const token = t.token;
  let target = url;
  const options: WebSocket.ClientOptions & { protocols?: string[] } = {};
  let carrier = t.carrier;
  // Carriers have grammars: a subprotocol is an HTTP token, a header value has no control characters.
  if (carrier === 'subprotocol' && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(token)) carrier = 'header';
  if (carrier === 'header' && (token.trim() !== token || !/^[\x20-\x7e]*$/.test(token) || token === ''))
    carrier = 'query';
  if (carrier === 'query') target = `${url}?token=${encodeURIComponent(token)}`;
  if (carrier === 'header') options.headers = { Authorization: `Bearer ${token}` };
  const ws = new WebSocket(target, carrier === 'subprotocol' ? [`bearer.${token}`] : [], options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

// ---- SSE query strings and headers ----------------------------------------------------

const sseCase = fc.record({
  channels: fc.oneof(
    fc.constant(null),
    fc
      .array(
        fc.oneof(
          channelish.filter((c): c is string => typeof c === 'string'),
          fc.stringMatching(/^fuzz:[a-z0-9]{1,8}$/),
          fc.constant(`user:${SUB}`),
          fc.constant('products'),
        ),
        { maxLength: 12 },
      )
      .map((a) => a.join(',')),
    fc.string({ maxLength: 60 }),
  ),
  last: fc.oneof(
    fc.constant(null),
    fc.stringMatching(/^\d{1,18}$/),
    fc.string({ maxLength: 20 }),
    fc.constantFrom('0', ' 12 ', '-1', '1e5', '9007199254740993', ''),
  ),
  lastIn: fc.constantFrom('header', 'query'),
  extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
});

/** The status GET /realtime/events deserves, in the handler's order of checks. */
function sseExpected(c: Infer<typeof sseCase>, lastSent: string | null): number {
  let names: string[] = ['products'];
  if (c.channels !== null && c.channels.trim() !== '') {
    const list = [
      ...new Set(
        c.channels
          .split(',')
          .map((s: string) => s.trim())
          .filter((s: string) => s !== ''),
      ),
    ];
    if (list.length > 0) names = list;
  }
  if (names.some((n) => !CHANNEL.test(n))) return 400;
  if (names.length > MAX_CHANNELS) return 400;
  if (lastSent !== null && lastSent.trim() !== '' && !/^\d{1,16}$/.test(lastSent.trim())) return 400;
  for (const n of names) {
    if (n.startsWith('user:')) {
      if (n !== `user:${SUB}`) return 403;
    } else if (
      !(n === 'products' || n.startsWith('product:') || n === 'files' || n.startsWith('$') || n.startsWith('fuzz:'))
    )
      return 403;
  }
  return 200;
}

// ---- raw HTTP ----------------------------------------------------------------------------

const headerName = fc.oneof(
  fc.constantFrom(
    'Host',
    'Upgrade',
    'Connection',
    'Sec-WebSocket-Key',
    'Sec-WebSocket-Version',
    'Sec-WebSocket-Protocol',
    'Authorization',
    'Content-Length',
    'Transfer-Encoding',
    'Last-Event-ID',
    'Origin',
    'Content-Type',
  ),
  fc.string({ maxLength: 12 }),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    'websocket',
    'Upgrade',
    'dGhlIHNhbXBsZSBub25jZQ==',
    '13',
    '8',
    'chunked',
    '0',
    '-1',
    '99999999999',
    'Bearer x',
    'bearer.abc',
    'text/event-stream',
    'application/json',
    '',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 8000, max: 20_000 }).map((n) => 'v'.repeat(n)),
);
const rawCase = fc.record({
  method: fc.oneof(
    fc.constantFrom('GET', 'POST', 'OPTIONS', 'PUT', 'HEAD', 'CONNECT', 'get', 'G\u00c9T'),
    fc.string({ maxLength: 8 }),
  ),
  path: fc.oneof(
    fc.constantFrom(
      '/realtime/events',
      '/realtime/ws',
      '/realtime/send',
      '/realtime/broadcast',
      '/realtime/webrtc/signaling',
      '*',
      '',
      '//',
      '/realtime/events/../ws',
    ),
    fc.string({ maxLength: 30 }).map((s) => `/realtime/events?${s}`),
  ),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 extra', ''),
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }),
  body: fc.oneof(
    fc.constant(''),
    fc.string({ maxLength: 100 }),
    fc.constantFrom('0\r\n\r\n', 'zz\r\nabc\r\n', '5\r\nab'),
  ),
});

function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    // A request that opened a stream (SSE 200, WS 101) stays open: the head is all we need.
    const timer = setTimeout(done, 1500);
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (/^HTTP\/1\.[01] (101|200) /.test(got) && got.includes('\r\n\r\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.end(Buffer.from(bytes, 'latin1'));
  });
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

test('hostile tokens, SSE query strings and raw HTTP heads: the modelled status, never a 5xx; bystanders unaffected; RSS comes back', async (t) => {
  const gw = await ChildGateway.start({
    jwtSecret: SECRET,
    channelsPerConnection: MAX_CHANNELS,
    historySize: 50,
    maxConnectionsPerIp: 0,
  });
  t.after(() => gw.proc.kill('SIGKILL'));
  const bystanderToken = await signed({ sub: 'bystander', channels: ['bystander'], exp: now() + 3600 });
  const bystander = await Bystander.start(`${gw.url}`, {}, bystanderToken);
  t.after(() => bystander.close());
  const port = Number(new URL(gw.url).port);
  const wsUrl = gw.wsUrl;
  const problems: string[] = [];
  const counts = { tokens: cases(600, 12_000), sse: cases(600, 10_000), raw: cases(400, 8_000) };
  let base = null;
  const started = Date.now();
  const BATCH = 200;
  const tokenStatuses = new Map<number, number>();
  const sseStatuses = new Map<number, number>();

  const done = { tokens: 0, sse: 0, raw: 0 };
  for (let batch = 0; done.tokens < counts.tokens && !outOfTime(started); done.tokens += BATCH, batch++) {
    const specs = fc.sample(tokenCase, {
      seed: SEED + 2000 + batch,
      numRuns: Math.min(BATCH, counts.tokens - done.tokens),
    });
    const list = await Promise.all(specs.map(buildToken));
    await pool(list, 16, async (tc) => {
      const status = await wsStatus(wsUrl, tc);
      tokenStatuses.set(status, (tokenStatuses.get(status) ?? 0) + 1);
      const ok =
        tc.accept === 'either' ? status === 101 || status === 401 : status === (tc.accept === 'yes' ? 101 : 401);
      if (!ok) problems.push(`token ${JSON.stringify(tc)} → ${status}`);
      if (tc.carrier !== 'subprotocol') {
        // The same token on SSE.
        const res = await fetch(`${gw.url}/realtime/events?channels=products&token=${encodeURIComponent(tc.token)}`);
        const s = res.status;
        await res.body?.cancel();
        const sseOk = tc.accept === 'either' ? s === 200 || s === 401 : s === (tc.accept === 'yes' ? 200 : 401);
        if (!sseOk) problems.push(`sse token ${JSON.stringify(tc)} → ${s}`);
      }
    });
    if (batch === 1) base = await gw.memory();
    assert.ok(gw.alive, `gateway died (exit ${gw.exitCode}), seed ${SEED}`);
    assert.deepEqual(problems.slice(0, 5), [], `seed ${SEED}`);
  }

  const token = await signed({ sub: SUB, channels: GRANTS, exp: now() + 3600 });
  for (let batch = 0; done.sse < counts.sse && !outOfTime(started); done.sse += BATCH, batch++) {
    const list = fc.sample(sseCase, { seed: SEED + 3000 + batch, numRuns: Math.min(BATCH, counts.sse - done.sse) });
    await pool(list, 16, async (c) => {
      const q = new URLSearchParams(c.extra);
      if (c.channels !== null) q.set('channels', c.channels);
      q.set('token', token);
      const headers: Record<string, string> = {};
      let lastSent: string | null = null;
      if (c.last !== null) {
        // Headers carry no control characters and lose surrounding whitespace; the query carries anything.
        if (c.lastIn === 'header' && /^[\x20-\x7e]*$/.test(c.last)) {
          headers['Last-Event-ID'] = c.last;
          lastSent = c.last.trim();
        } else {
          q.set('last_event_id', c.last);
          lastSent = c.last;
        }
      }
      const res = await fetch(`${gw.url}/realtime/events?${q}`, { headers });
      const want = sseExpected(c, lastSent);
      sseStatuses.set(res.status, (sseStatuses.get(res.status) ?? 0) + 1);
      let detail = '';
      if (res.status !== 200) {
        const body: any = await res.json().catch(() => null);
        if (!KNOWN_CODES.has(body?.error?.code)) detail = ` unknown error body ${JSON.stringify(body)}`;
      } else await res.body?.cancel();
      if (res.status !== want || detail)
        problems.push(`sse ${JSON.stringify({ ...c, lastSent })} → ${res.status}${detail} (model: ${want})`);
    });
    assert.ok(gw.alive, `gateway died (exit ${gw.exitCode}), seed ${SEED}`);
    assert.deepEqual(problems.slice(0, 5), [], `seed ${SEED}`);
  }

  const statuses = new Map<string, number>();
  for (let batch = 0; done.raw < counts.raw && !outOfTime(started); done.raw += BATCH, batch++) {
    const list = fc.sample(rawCase, { seed: SEED + 4000 + batch, numRuns: Math.min(BATCH, counts.raw - done.raw) });
    await pool(list, 16, async (c) => {
      let head = `${c.method} ${c.path} ${c.version}\r\nHost: 127.0.0.1\r\n`;
      for (const [k, v] of c.headers) head += `${k}: ${v}\r\n`;
      const answer = await rawExchange(port, `${head}\r\n${c.body}`);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? (answer === '' ? 'closed' : 'garbage');
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 'garbage' || status.startsWith('5'))
        problems.push(`raw ${JSON.stringify(head.slice(0, 300))} → ${answer.slice(0, 200)}`);
    });
    assert.ok(gw.alive, `gateway died (exit ${gw.exitCode}), seed ${SEED}`);
    assert.deepEqual(problems.slice(0, 5), [], `seed ${SEED}`);
  }

  const { sent } = await bystander.verify();
  bystander.close();
  const end = await gw.settled();
  // Every hostile input is refused on purpose: none may reach the handler guard (src/transports/guard.ts).
  assert.equal(end.stats.handler_errors, 0, `a handler threw (see the gateway's log), seed ${SEED}`);
  const total =
    Math.min(done.tokens, counts.tokens) * 2 + Math.min(done.sse, counts.sse) + Math.min(done.raw, counts.raw);
  t.diagnostic(
    rssReport('edges', base!, end, total, Date.now() - started) +
      `; ws token statuses ${JSON.stringify(Object.fromEntries(tokenStatuses))}; sse statuses ${JSON.stringify(Object.fromEntries(sseStatuses))}` +
      `; raw statuses ${JSON.stringify(Object.fromEntries(statuses))}; bystander events ${sent}`,
  );
  assert.ok(end.rss <= base!.rss * 1.1 + 8 * 1048576, `RSS ${end.rss} vs ${base!.rss} after the warm-up`);
  await gw.stop();
});
