import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildGateway, errorOf, rawExchange, statusOf } from '../fuzz/harness.js';
import type { Config } from '../../src/config/config.js';

// Issue 10, finding 1: one request with an Upgrade header and a request-target
// `new URL` cannot parse ended the process. Replayed against gateways in child
// processes, as the probe found it: with the defaults, and hardened (auth on,
// an API key, origins restricted, WebSocket off). Each answer must be our JSON
// error (or a close), and the gateway must go on answering.

const TARGETS = [
  '//[',
  'http://[',
  '//[/realtime/ws',
  '/realtime/ws?%',
  '%',
  '/%',
  '/realtime/events?%ZZ',
  'http://[::1',
  '//',
  'http://x:99999/realtime/ws',
  'http:',
];
const UPGRADES: Array<[string, string]> = [
  ['Upgrade', 'foo'],
  ['Upgrade', 'websocket'],
  ['Upgrade', 'h2c'],
  ['Upgrade', ''],
];

function upgradeRequest(target: string, upgrade: string): string {
  return `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

/**
 * A refusal in our JSON shape, or a close; or, for a target that parses after
 * all (`/realtime/ws?%`), the stream it asked for (101, or 200 for SSE: an
 * empty Upgrade is no upgrade).
 */
function acceptable(answer: string): boolean {
  const status = statusOf(answer);
  if (status === 'closed' || status === '101' || status === '200') return true;
  return /^4\d\d$/.test(status) && errorOf(answer) !== null;
}

async function probe(overrides: Partial<Config>, label: string): Promise<void> {
  const gw = await ChildGateway.start(overrides);
  try {
    const port = Number(new URL(gw.url).port);
    const seen = new Map<string, number>();
    // The probe's own request first: curl --request-target '//[' -H 'Connection: Upgrade' -H 'Upgrade: foo'.
    const first = await rawExchange(port, upgradeRequest('//[', 'foo'));
    assert.ok(gw.alive, `${label}: the gateway died on the probe's request (exit ${gw.exitCode})`);
    assert.equal(statusOf(first), '400', `${label}: ${first}`);
    assert.deepEqual(errorOf(first), { code: 'bad_request', message: 'malformed request-target' });
    for (const target of TARGETS) {
      for (const [, value] of UPGRADES) {
        const answer = await rawExchange(port, upgradeRequest(target, value));
        const status = statusOf(answer);
        seen.set(status, (seen.get(status) ?? 0) + 1);
        assert.ok(gw.alive, `${label}: died on ${JSON.stringify(target)} Upgrade ${value}`);
        assert.ok(acceptable(answer), `${label}: ${JSON.stringify(target)} Upgrade ${value} → ${answer.slice(0, 300)}`);
      }
      // The same targets without an upgrade, through the SSE route and Fastify's router.
      const plain = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.ok(gw.alive, `${label}: died on GET ${JSON.stringify(target)}`);
      assert.ok(acceptable(plain), `${label}: GET ${JSON.stringify(target)} → ${plain.slice(0, 300)}`);
    }
    const health = await fetch(`${gw.url}/healthz`);
    assert.equal(health.status, 200);
    const end = await gw.slotsFree();
    // Every one of these is refused on purpose, before any handler can throw.
    assert.equal(end.stats.handler_errors, 0, `${label}: a handler threw`);
    console.log(`[edge-crash ${label}] statuses ${JSON.stringify(Object.fromEntries(seen))}`);
  } finally {
    await gw.stop().catch(() => undefined);
    gw.proc.kill('SIGKILL');
  }
}

test('the probe request (Upgrade + request-target //[) answers 400 and the gateway stays up: defaults', async () => {
  await probe({}, 'defaults');
});

test('the probe request answers 400 and the gateway stays up: auth on, API key, origins restricted, WebSocket off', async () => {
  await probe(
    {
      jwtSecret: 'edge-crash-secret-0123456789abcdef',
      apiKey: 'edge-crash-key',
      allowedOrigins: ['https://app.example'],
      websocketEnabled: false,
    },
    'hardened',
  );
});
