/**
 * The Python client (clients/python) against a real gateway: this file starts the gateway and
 * the TypeScript side of the conversation, then runs the package's pytest suite, which drives
 * both through a small control server:
 *
 *   GET  /state    the TypeScript SDK client's received events, the TS WebRTC peer's id and signals
 *   POST /publish  the TypeScript side publishes over HTTP (POST /realtime/send)
 *   POST /join     the TypeScript SDK client joins a channel
 *   POST /restart  graceful gateway restart on the same port and DATA_DIR (history survives)
 *
 * Python and its libraries come from Debian packages (`bash scripts/services.sh tools`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogChannels, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { WSClient, type EventFrame } from '../../packages/client/src/index.js';
import { ErrorCode } from '../../src/codes.js';
import { SECRET, sign } from '../auth/tokens.js';

const PYTHON = process.env.HUBCAST_PYTHON ?? '/usr/bin/python3';
const PACKAGE = 'clients/python';
const PYTEST_TIMEOUT_MS = 60_000;

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function requirePython(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import websockets, httpx, pytest, pytest_asyncio'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(
      `${PYTHON} cannot import the Python client's libraries (${(probe.stderr || String(probe.error)).trim()}); ` +
        'install them with `bash scripts/services.sh tools` (Debian: python3-websockets python3-httpx python3-pytest python3-pytest-asyncio python3-mypy)',
    );
  }
}

async function readJson(req: IncomingMessage): Promise<any> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body === '' ? {} : JSON.parse(body);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

test('the Python client package against a real gateway (pytest)', async () => {
  requirePython();
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'hubcast-python-'));
  // sseRetryMs small so the SSE client's honoured retry hint keeps the restart test quick;
  // heartbeats often, so the SSE tests see some.
  const config = { port, dataDir, historySize: 10_000, sseRetryMs: 100, sseHeartbeatMs: 100 };
  // The catalog's channel rules: the Python tests expect `products` to be server-owned and the default stream.
  let gw: RunningGateway = await startGateway(config, [catalogChannels]);
  const base = `http://127.0.0.1:${port}`;
  // A second gateway with auth on and an API key, for the token and key paths.
  const apiKey = 'python-test-api-key';
  const authGw = await startGateway({ jwtSecret: SECRET, apiKey }, [catalogChannels]);
  const authEnv = {
    HUBCAST_AUTH_URL: authGw.url,
    HUBCAST_AUTH_API_KEY: apiKey,
    // For the expiry test, which signs short-lived tokens itself.
    HUBCAST_JWT_SECRET: SECRET,
    HUBCAST_TOKEN: await sign('py-user', { channels: ['py:*'] }),
    HUBCAST_BAD_TOKEN: await sign('py-user', { secret: 'not-the-gateway-secret-0123456789' }),
  };

  // The TypeScript side: an SDK client that records what it receives, and an SDK WebRTC peer
  // that answers every offer.
  const ts = new WSClient(`${base.replace('http', 'ws')}/realtime/ws`, {
    minReconnectDelay: 50,
    maxReconnectDelay: 500,
  });
  const received: EventFrame[] = [];
  ts.onMessage('event', (e) => received.push(e));
  const peer = new WSClient(`${base.replace('http', 'ws')}/realtime/ws`, {
    minReconnectDelay: 50,
    maxReconnectDelay: 500,
  });
  const signals: unknown[] = [];
  peer.onMessage('webrtc_signal', (s) => {
    signals.push(s);
    if (s.signal_type === 'offer' && s.from_peer_id !== undefined) {
      peer
        .sendWebRTCSignal({ signal_type: 'answer', target_peer_id: s.from_peer_id, sdp: `answer to ${String(s.sdp)}` })
        .catch((err) => signals.push({ answer_failed: String(err) }));
    }
  });
  await Promise.all([ts.connect(), peer.connect()]);

  const control = createHttpServer((req, res) => {
    void (async () => {
      try {
        if (req.method === 'GET' && req.url === '/state') {
          send(res, 200, {
            received,
            signals,
            peer_id: peer.state === 'connected' ? peer.peerId : null,
            ts_state: ts.state,
          });
        } else if (req.method === 'POST' && req.url === '/publish') {
          const { channel, event, data } = await readJson(req);
          const answer = await fetch(`${base}/realtime/send`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ channel, event, data }),
          });
          send(res, answer.status, await answer.json());
        } else if (req.method === 'POST' && req.url === '/join') {
          const { channel } = await readJson(req);
          send(res, 200, await ts.joinChannel(channel));
        } else if (req.method === 'POST' && req.url === '/restart') {
          await gw.close(); // WS clients get 1012, SSE streams end
          gw = await startGateway(config, [catalogChannels]);
          send(res, 200, { restarted: true });
        } else {
          send(res, 404, { error: `no control route ${req.method} ${req.url}` });
        }
      } catch (err) {
        send(res, 500, { error: String(err) });
      }
    })();
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;

  try {
    const started = Date.now();
    const child = spawn(
      PYTHON,
      ['-m', 'pytest', `${PACKAGE}/tests`, '-q', '-p', 'no:cacheprovider', '-x', '--durations=5'],
      {
        env: {
          ...process.env,
          ...authEnv,
          HUBCAST_URL: base,
          HUBCAST_CONTROL_URL: controlUrl,
          PYTHONDONTWRITEBYTECODE: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), PYTEST_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    const summary = output.trim().split('\n').slice(-12).join('\n');
    console.log(`pytest (${Date.now() - started} ms):\n${summary}`);
    assert.equal(code, 0, `pytest failed (exit ${code}):\n${output}`);
    assert.match(output, / passed/);
    assert.doesNotMatch(output, / skipped/, 'every test ran against the gateway and the harness');
  } finally {
    ts.disconnect();
    peer.disconnect();
    await new Promise<void>((resolve) => control.close(() => resolve()));
    await gw.close();
    await authGw.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('the Python client has an exception class for every server error code', () => {
  requirePython();
  const probe = spawnSync(
    PYTHON,
    [
      '-c',
      'import json, sys; sys.path.insert(0, "src"); from hubcast.errors import SERVER_ERRORS; print(json.dumps(sorted(SERVER_ERRORS)))',
    ],
    {
      cwd: PACKAGE,
      encoding: 'utf8',
    },
  );
  assert.equal(probe.status, 0, probe.stderr);
  const known = new Set<string>(JSON.parse(probe.stdout));
  // Every code the server sends has its exception class (the client may know codes of a newer gateway).
  assert.deepEqual(
    Object.values(ErrorCode).filter((code) => !known.has(code)),
    [],
  );
});
