import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportJWK, type JWK } from 'jose';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { SECRET, sign } from './tokens.js';
import { connectWs, sseStatus, upgradeStatus } from './clients.js';

// RS256 / ES256 / EdDSA tokens verified with a public key (JWT_PUBLIC_KEY) or a
// JWKS file (JWT_JWKS_FILE), next to HS256 with JWT_SECRET. A token is checked
// only with the key kind its alg names: a public key never doubles as an HMAC secret.

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const q = encodeURIComponent;
const exp = () => Math.floor(Date.now() / 1000) + 600;

async function signAs(alg: string, key: import('node:crypto').KeyObject, sub: string, kid?: string): Promise<string> {
  return new SignJWT({ channels: ['chat:*'] })
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setSubject(sub)
    .setExpirationTime(exp())
    .sign(key);
}

let pem: RunningGateway;
let jwks: RunningGateway;
let jwksPath: string;
before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hubcast-keys-'));
  const pemPath = join(dir, 'ec.pem');
  await writeFile(pemPath, ec.publicKey.export({ type: 'spki', format: 'pem' }));
  const keys: JWK[] = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ed.publicKey)), kid: 'ed-1', alg: 'EdDSA', use: 'sig' },
  ];
  jwksPath = join(dir, 'jwks.json');
  await writeFile(jwksPath, JSON.stringify({ keys }));
  // Through loadConfig, as the CLI does: the variables are read and the key material loaded at start.
  const pemConfig = loadConfig({ JWT_PUBLIC_KEY: pemPath, JWT_SECRET: SECRET });
  pem = await startGateway({ jwtPublicKey: pemConfig.jwtPublicKey, jwtSecret: SECRET });
  jwks = await startGateway({ jwtJwks: loadConfig({ JWT_JWKS_FILE: jwksPath }).jwtJwks });
});
after(async () => {
  await pem.close();
  await jwks.close();
});

test('JWT_PUBLIC_KEY: ES256 tokens of that key are accepted beside HS256 ones; others are refused 401', async () => {
  const good = await signAs('ES256', ec.privateKey, 'alice');
  const { ws, connected } = await connectWs(`${pem.wsUrl}?token=${q(good)}`);
  assert.equal(connected.user_id, 'alice');
  assert.equal((await ws.command('join_channel', { channel: 'chat:1' })).ok, true);
  ws.close();
  assert.equal((await sseStatus(`${pem.url}/realtime/events?token=${q(good)}`)).status, 200);
  // HS256 with the secret still works next to it.
  assert.equal((await upgradeStatus(`${pem.wsUrl}?token=${q(await sign('bob'))}`)).status, 101);

  const bad: Array<[string, string]> = [
    ['another EC key', await signAs('ES256', stranger.privateKey, 'alice')],
    ['an RSA key the server does not know', await signAs('RS256', rsa.privateKey, 'alice')],
    // The classic confusion attack: HS256 "signed" with the public key's PEM as the secret.
    [
      'HS256 keyed with the public PEM',
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setExpirationTime(exp())
        .sign(new TextEncoder().encode(ec.publicKey.export({ type: 'spki', format: 'pem' }) as string)),
    ],
  ];
  for (const [name, token] of bad) {
    const res = await upgradeStatus(`${pem.wsUrl}?token=${q(token)}`);
    assert.equal(res.status, 401, name);
    assert.equal(res.body.error.code, 'unauthorized', name);
  }
});

test('JWT_JWKS_FILE: tokens are verified with the key their kid names', async () => {
  for (const [alg, key, kid] of [
    ['RS256', rsa.privateKey, 'rsa-1'],
    ['EdDSA', ed.privateKey, 'ed-1'],
  ] as const) {
    const { ws, connected } = await connectWs(jwks.wsUrl, {
      headers: { Authorization: `Bearer ${await signAs(alg, key, 'carol', kid)}` },
    });
    assert.equal(connected.user_id, 'carol', alg);
    ws.close();
  }
  const refused: Array<[string, string]> = [
    ['unknown kid', await signAs('RS256', rsa.privateKey, 'carol', 'rsa-9')],
    ['right kid, wrong key', await signAs('ES256', stranger.privateKey, 'carol', 'rsa-1')],
    ['HS256 when no secret is configured', await sign('carol')],
  ];
  for (const [name, token] of refused)
    assert.equal((await upgradeStatus(`${jwks.wsUrl}?token=${q(token)}`)).status, 401, name);
});

test('bad key configuration fails at start with one line naming the variable', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hubcast-badkeys-'));
  await writeFile(join(dir, 'junk.pem'), 'not a key');
  await writeFile(join(dir, 'private.json'), JSON.stringify({ keys: [await exportJWK(ec.privateKey)] }));
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ JWT_PUBLIC_KEY: join(dir, 'missing.pem') }, 'JWT_PUBLIC_KEY', /cannot read .*ENOENT/],
    [{ JWT_PUBLIC_KEY: join(dir, 'junk.pem') }, 'JWT_PUBLIC_KEY', /not a PEM public key/],
    [{ JWT_JWKS_FILE: join(dir, 'junk.pem') }, 'JWT_JWKS_FILE', /not a JSON file/],
    [{ JWT_JWKS_FILE: join(dir, 'private.json') }, 'JWT_JWKS_FILE', /public keys only/],
    [{ REALTIME_MAX_CONNECTIONS_PER_IP: 'many' }, 'REALTIME_MAX_CONNECTIONS_PER_IP', /whole number/],
    [{ WS_RATE_LIMIT: '-5' }, 'WS_RATE_LIMIT', /whole number/],
    [{ WS_RATE_BURST: '0' }, 'WS_RATE_BURST', /1/],
    [{ AUTH_ANONYMOUS: 'maybe' }, 'AUTH_ANONYMOUS', /true or false/],
  ];
  for (const [env, variable, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.variable, variable);
        assert.match(err.message, message);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      },
    );
  }
  // An inline PEM with \n escapes (as env files often carry it) is fine too.
  const inline = (ec.publicKey.export({ type: 'spki', format: 'pem' }) as string).replace(/\n/g, '\\n');
  assert.ok(loadConfig({ JWT_PUBLIC_KEY: inline }).jwtPublicKey);
  const defaults = loadConfig({});
  assert.equal(defaults.maxConnectionsPerIp, 1000);
  assert.equal(defaults.wsRateLimit, 100);
  assert.equal(defaults.wsRateBurst, 200);
  assert.equal(defaults.authAnonymous, false);
});
