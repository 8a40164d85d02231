/** Channel claims (src/hub/app-channels.ts): one owner per channel, server-owned rules, handlers, defaults. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppChannels } from '../../src/hub/app-channels.js';
import { joinDenied, publishDenied } from '../../src/auth/permissions.js';

const handler = { publish: async () => null };
const token = (patterns: string[]) => ({ userId: 'ann', patterns, exp: null, authenticated: true });

test('a prefix claim (`chat:*`) hands client publishes to its handler; nothing else does', () => {
  const apps = new AppChannels();
  assert.equal(apps.ownerOf('chat:x'), null);
  apps.claim('chat', 'chat:*', handler);
  assert.equal(apps.ownerOf('chat:x'), handler);
  assert.equal(apps.ownerOf('chatter'), null);
  assert.equal(apps.isServerOwned('chat:x'), false, 'a handler-owned channel takes client posts');
});

test('overlapping, malformed or core-reserved patterns are refused, naming the owner', () => {
  const apps = new AppChannels();
  apps.claim('chat', 'chat:*', handler);
  apps.claim('catalog', 'products', 'server');
  assert.throws(() => apps.claim('x', 'chat:vip:*', handler), /overlaps chat:\*, claimed by chat/);
  assert.throws(() => apps.claim('x', 'ch*', handler), /overlaps chat:\*/);
  assert.throws(() => apps.claim('x', 'chat:lobby', 'server'), /overlaps chat:\*/);
  assert.throws(() => apps.claim('x', 'products', 'server'), /overlaps products, claimed by catalog/);
  assert.throws(() => apps.claim('x', 'prod*', 'server'), /overlaps products/);
  for (const bad of ['', '*', 'a b', 'a*b*'])
    assert.throws(() => apps.claim('x', bad, 'server'), /must be a channel name/, bad);
  for (const core of ['user:*', 'user:ann', 'u*'])
    assert.throws(() => apps.claim('x', core, 'server'), /user:\* or \$\*/, core);
  apps.claim('x', 'productsx', 'server');
  assert.equal(apps.isServerOwned('productsx'), true, 'an exact claim is not a prefix of another');
});

test('server-owned channels: joined without a token grant, never published by clients; user:* and $* always', () => {
  const apps = new AppChannels();
  apps.claim('catalog', 'products', 'server');
  apps.claim('catalog', 'product:*', 'server');
  for (const c of ['products', 'product:7', 'user:ann', '$x']) assert.equal(apps.isServerOwned(c), true, c);
  for (const c of ['productsx', 'room:1', 'files']) assert.equal(apps.isServerOwned(c), false, c);
  assert.equal(joinDenied(token([]), 'product:7', apps), null);
  assert.match(joinDenied(token([]), 'room:1', apps) ?? '', /does not grant/);
  assert.match(publishDenied(token(['*']), 'products', apps) ?? '', /published by the server only/);
  // Without the claim (a gateway without the catalog), `products` is a plain channel.
  assert.equal(publishDenied(token(['*']), 'products', new AppChannels()), null);
});
