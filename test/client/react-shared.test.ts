import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createElement, StrictMode } from 'react';
import { renderToString } from 'react-dom/server';
import { SharedClients } from '../../packages/client/src/react/shared.js';
import { useSSE } from '../../packages/client/src/react/index.js';

test('a release followed by an acquire in the same task (StrictMode remount) keeps the one client', async () => {
  let opened = 0;
  let closed = 0;
  const shared = new SharedClients<{ n: number }>(
    () => ({ n: ++opened }),
    () => void closed++,
  );
  const a = shared.acquire('u');
  shared.release('u'); // StrictMode's simulated unmount
  const b = shared.acquire('u'); // and the mount again
  assert.equal(a, b);
  const c = shared.acquire('u'); // a second component on the same URL
  assert.equal(c, a);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(opened, 1);
  assert.equal(closed, 0);
  shared.release('u');
  shared.release('u');
  assert.equal(closed, 0, 'closing waits past the current task');
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(closed, 1, 'the last release closes it');
  assert.equal(shared.size, 0);
  shared.acquire('u');
  assert.equal(opened, 2, 'a later mount opens a new one');
});

function View() {
  const { state, data } = useSSE('http://127.0.0.1:9/realtime/events');
  return createElement('p', null, `${state}:${String(data)}`);
}

test('useSSE renders on the server without connecting (effects do not run there)', () => {
  assert.equal(renderToString(createElement(StrictMode, null, createElement(View))), '<p>connecting:null</p>');
});
