import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, type JWTPayload } from 'jose';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { SECRET } from '../auth/tokens.js';
import { upgradeStatus, sseStatus } from '../auth/clients.js';
import { loadConfig } from '../../src/config/config.js';

// Tokens were not checked for audience or issuer, and a token without `exp` never expired. Each
// refused token below opened a WebSocket on the old code.

const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

async function token(claims: JWTPayload): Promise<string> {
  return new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(key);
}

describe('JWT_AUDIENCE and JWT_ISSUER', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({
      jwtSecret: SECRET,
      jwtAudience: ['hubcast', 'hubcast-staging'],
      jwtIssuer: ['https://id.example'],
    });
  });
  after(() => gw.close());

  test('a token must name an accepted audience and issuer, on WS and SSE', async () => {
    const exp = now() + 600;
    const good = await token({ aud: 'hubcast', iss: 'https://id.example', exp });
    const alsoGood = await token({ aud: ['other', 'hubcast-staging'], iss: 'https://id.example', exp });
    assert.equal((await upgradeStatus(`${gw.wsUrl}?token=${good}`)).status, 101);
    assert.equal((await upgradeStatus(`${gw.wsUrl}?token=${alsoGood}`)).status, 101);
    const refused = {
      'no aud': await token({ iss: 'https://id.example', exp }),
      'wrong aud': await token({ aud: 'billing', iss: 'https://id.example', exp }),
      'no iss': await token({ aud: 'hubcast', exp }),
      'wrong iss': await token({ aud: 'hubcast', iss: 'https://evil.example', exp }),
    };
    for (const [what, t] of Object.entries(refused)) {
      const ws = await upgradeStatus(`${gw.wsUrl}?token=${t}`);
      assert.equal(ws.status, 401, what);
      assert.equal(ws.body.error.code, 'unauthorized', what);
      assert.match(ws.body.error.message, /"(aud|iss)" claim/, what);
      assert.equal((await sseStatus(`${gw.url}/realtime/events?token=${t}`)).status, 401, what);
    }
  });
});

describe('JWT_MAX_TTL_S', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ jwtSecret: SECRET, jwtMaxTtlS: 3600 });
  });
  after(() => gw.close());

  test('a token without exp, or valid for longer than the maximum, is refused; within it, accepted', async () => {
    const noExp = await upgradeStatus(`${gw.wsUrl}?token=${await token({})}`);
    assert.equal(noExp.status, 401);
    assert.match(noExp.body.error.message, /no exp claim.*JWT_MAX_TTL_S/);
    const tooLong = await upgradeStatus(`${gw.wsUrl}?token=${await token({ exp: now() + 86_400 })}`);
    assert.equal(tooLong.status, 401);
    assert.match(tooLong.body.error.message, /more than the 3600 s allowed/);
    assert.equal((await upgradeStatus(`${gw.wsUrl}?token=${await token({ exp: now() + 3000 })}`)).status, 101);
  });

  test('without the variables nothing changes: no aud, no iss, no exp are accepted', async () => {
    const open = await startGateway({ jwtSecret: SECRET });
    try {
      assert.equal((await upgradeStatus(`${open.wsUrl}?token=${await token({})}`)).status, 101);
    } finally {
      await open.close();
    }
  });

  test('the variables parse as lists and a whole number of seconds', () => {
    const c = loadConfig({ JWT_AUDIENCE: 'a, b', JWT_ISSUER: 'https://id.example', JWT_MAX_TTL_S: '900' });
    assert.deepEqual(c.jwtAudience, ['a', 'b']);
    assert.deepEqual(c.jwtIssuer, ['https://id.example']);
    assert.equal(c.jwtMaxTtlS, 900);
    assert.equal(loadConfig({}).jwtMaxTtlS, 0);
    assert.throws(() => loadConfig({ JWT_MAX_TTL_S: '1h' }), /JWT_MAX_TTL_S/);
  });
});
