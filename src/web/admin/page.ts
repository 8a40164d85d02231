/**
 * `GET /admin`: the cluster at a glance — its nodes (uptime, connections per
 * transport, memory), the biggest channels cluster-wide and each node's
 * slowest clients — from GET /admin/cluster every two seconds. Built on the SDK
 * module (/sdk/hubcast.js): its error codes tell a missing key from a refused
 * caller, its full-jitter backoff paces retries while the node is away, and a
 * click on a channel tails it live through the SDK's SSE client. With
 * API_KEY set, the page asks for the key and keeps it for the tab's session
 * only (sessionStorage). Data is always rendered as text.
 */
import { PAGE_CHROME_CSS } from '../page-chrome.js';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hubcast · admin</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.ico">
<style>
${PAGE_CHROME_CSS}
main{padding:1rem 1.5rem;display:grid;gap:1.2rem}
h2{font-size:1rem;margin:0 0 .4rem}
#status{color:#6b7280;margin:0}#status.warn{color:#b45309}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.3rem .5rem;border-bottom:1px solid #eef2f7;text-align:left;white-space:nowrap}
th{font-weight:600;color:#4b5563;font-size:.8rem}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.bar{width:30%}td.bar i{display:block;height:.6rem;border-radius:3px;background:#14b8a6;min-width:1px}td.bar i.hot{background:#f97316}
td.empty{color:#9ca3af;text-align:center}
#channel-rows tr[data-channel]{cursor:pointer}#channel-rows tr[data-channel]:hover{background:#f0fdfa}
#tail ol{list-style:none;margin:0;padding:.4rem .6rem;background:#0f172a;color:#e2e8f0;font:12px/1.5 ui-monospace,monospace;max-height:14rem;overflow:auto;border-radius:6px}
#tail ol li{white-space:pre;overflow:hidden;text-overflow:ellipsis}#tail small{color:#6b7280;font-weight:normal}
form{background:#fff;padding:1rem;border:1px solid #e5e7eb;border-radius:6px;max-width:30rem}
input{padding:.3rem;width:18rem}
</style></head>
<body>
<header>
<h1><span id="dot" title="connecting"></span> hubcast admin</h1>
<div class="card"><span>nodes answered</span><b id="nodes">–</b></div>
<div class="card"><span>connections</span><b id="conns">–</b></div>
<div class="card"><span>ws · sse · tcp · poll</span><b id="split">–</b></div>
<div class="card"><span>memory (rss)</span><b id="memory">–</b></div>
</header>
<main>
<p id="status">loading…</p>
<form id="keyform" hidden><p>This gateway has an API key (API_KEY): enter it to see the cluster. It is kept for this tab only.</p>
<input id="key" type="password" autocomplete="off" placeholder="API key"> <button>Show</button></form>
<section><h2>Nodes</h2><table><thead><tr><th>node</th><th class="num">uptime</th><th class="num">websocket</th><th class="num">sse</th><th class="num">tcp</th><th class="num">long-poll</th><th class="num">total</th><th class="num">channels</th><th class="num">rss</th><th class="num">heap used</th></tr></thead><tbody id="node-rows"></tbody></table></section>
<section><h2>Channels <small>(cluster-wide, biggest first; click one to watch it live)</small></h2><table><thead><tr><th>channel</th><th class="num">subscribers</th><th class="num">nodes</th><th></th></tr></thead><tbody id="channel-rows"></tbody></table></section>
<section id="tail" hidden><h2>Live on <span id="tail-channel"></span> <small id="tail-state"></small> <button id="tail-stop" type="button">stop</button></h2><ol id="tail-log"></ol></section>
<section><h2>Slowest clients <small>(per node, most bytes waiting first)</small></h2><table><thead><tr><th>node</th><th>client</th><th>transport</th><th class="num">buffered</th><th>of the limit</th><th>user</th><th>address</th><th class="num">channels</th><th>replaying</th></tr></thead><tbody id="slow-rows"></tbody></table></section>
</main>
<script type="module">
import { backoffDelay, createSSEClient, ErrorCode } from '/sdk/hubcast.js';
const KEY_REQUIRED = __KEY_REQUIRED__;
const $ = (id) => document.getElementById(id);
const dot = $('dot'), statusEl = $('status'), form = $('keyform');
const INTERVAL = 2000;
let failures = 0, timer = null;

function bytes(n) {
  if (n < 1024) return n + ' B';
  const units = ['KiB', 'MiB', 'GiB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i];
}
function duration(s) {
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
}
function row(cells) {
  const tr = document.createElement('tr');
  for (const [text, cls] of cells) {
    const td = document.createElement('td');
    if (cls === 'bar' || cls === 'bar hot') { const i = document.createElement('i'); i.style.width = text; if (cls === 'bar hot') i.className = 'hot'; td.className = 'bar'; td.appendChild(i); }
    else { td.textContent = text; if (cls) td.className = cls; }
    tr.appendChild(td);
  }
  return tr;
}
function fill(id, rows, columns, empty) {
  const body = $(id);
  body.replaceChildren(...rows);
  if (rows.length === 0) { const tr = document.createElement('tr'), td = document.createElement('td'); td.colSpan = columns; td.className = 'empty'; td.textContent = empty; tr.appendChild(td); body.appendChild(tr); }
}
function state(to, text, warn) {
  dot.className = to; dot.title = to;
  statusEl.textContent = text; statusEl.className = warn ? 'warn' : '';
}

function render(view) {
  const nodes = view.nodes;
  const sum = (f) => nodes.reduce((a, n) => a + f(n), 0);
  $('nodes').textContent = view.nodes_answered + ' / ' + view.nodes_asked;
  $('conns').textContent = sum((n) => n.connections.total);
  $('split').textContent = [sum((n) => n.connections.websocket), sum((n) => n.connections.sse), sum((n) => n.connections.tcp), sum((n) => n.connections.long_poll)].join(' · ');
  $('memory').textContent = bytes(sum((n) => n.memory.rss_bytes));
  fill('node-rows', nodes.map((n) => row([
    [n.node_id + (n.node_id === view.node ? ' (this page)' : '')], [duration(n.uptime_seconds), 'num'], [n.connections.websocket, 'num'], [n.connections.sse, 'num'], [n.connections.tcp, 'num'],
    [n.connections.long_poll, 'num'], [n.connections.total, 'num'], [n.channels, 'num'], [bytes(n.memory.rss_bytes), 'num'], [bytes(n.memory.heap_used_bytes), 'num'],
  ])), 10, 'no node answered');
  const biggest = Math.max(1, ...view.channels.map((c) => c.subscribers));
  fill('channel-rows', view.channels.map((c) => {
    const tr = row([[c.channel], [c.subscribers, 'num'], [c.nodes, 'num'], [(100 * c.subscribers / biggest).toFixed(1) + '%', 'bar']]);
    tr.dataset.channel = c.channel; tr.title = 'watch ' + c.channel + ' live';
    return tr;
  }), 4, 'no channel has a subscriber');
  const slow = nodes.flatMap((n) => n.slowest.map((c) => row([
    [n.node_id], [c.client_id], [c.transport], [bytes(c.buffered_bytes), 'num'],
    [Math.min(100, 100 * c.buffered_bytes / c.buffer_limit_bytes).toFixed(1) + '%', c.buffered_bytes * 2 > c.buffer_limit_bytes ? 'bar hot' : 'bar'],
    [c.user_id ?? '–'], [c.address ?? '–'], [c.channels, 'num'], [c.replaying ? 'yes' : ''],
  ])));
  fill('slow-rows', slow, 9, 'no client connected');
  const late = view.missing.concat(Object.keys(view.errors));
  const when = new Date(view.generated_at).toLocaleTimeString();
  if (late.length > 0) state('connected', 'updated ' + when + ' · no answer from ' + late.join(', ') + ' (figures leave them out)', true);
  else state('connected', 'updated ' + when + ' · ' + view.nodes_answered + ' node(s), gathered by ' + view.node);
}

function schedule(ms) { clearTimeout(timer); timer = setTimeout(refresh, ms); }
async function refresh() {
  const key = sessionStorage.getItem('hubcast.apiKey');
  if (KEY_REQUIRED && !key) { form.hidden = false; state('unauthorized', 'waiting for the API key'); return; }
  let r;
  try {
    r = await fetch('/admin/cluster', { headers: key ? { authorization: 'Bearer ' + key } : {}, cache: 'no-store' });
  } catch {
    failures++;
    state('reconnecting', 'the gateway does not answer; retrying…', true);
    return schedule(Math.max(250, backoffDelay(failures, 500, 10000)));
  }
  if (r.ok) { failures = 0; form.hidden = true; render(await r.json()); return schedule(INTERVAL); }
  const error = (await r.json().catch(() => null))?.error ?? { code: '', message: r.statusText };
  if (error.code === ErrorCode.unauthorized) {
    sessionStorage.removeItem('hubcast.apiKey'); form.hidden = false;
    return state('unauthorized', 'that API key was refused: ' + error.message, true);
  }
  if (error.code === ErrorCode.forbidden || error.code === ErrorCode.originNotAllowed) return state('forbidden', error.message, true);
  failures++;
  state('reconnecting', r.status + ' ' + error.message + '; retrying…', true);
  schedule(Math.max(250, backoffDelay(failures, 500, 10000)));
}
// Tail one channel: the SDK's SSE client (reconnect, resume) on a format=message stream, the
// page's own token (/admin?token=<jwt>) when auth is on. It shows up in the counts like any client.
const token = new URLSearchParams(location.search).get('token') || undefined;
let tail = null;
function watch(channel) {
  tail?.disconnect();
  const log = $('tail-log');
  log.replaceChildren();
  $('tail').hidden = false; $('tail-channel').textContent = channel;
  tail = createSSEClient(location.origin + '/realtime/events?format=message&channels=' + encodeURIComponent(channel), { token });
  tail.onStateChange(({ to }) => { $('tail-state').textContent = to; });
  tail.on('message', (e) => {
    const li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString() + '  #' + e.id + '  ' + e.data.event + '  ' + JSON.stringify(e.data.data).slice(0, 400);
    log.prepend(li);
    while (log.children.length > 100) log.lastChild.remove();
  });
}
$('channel-rows').addEventListener('click', (e) => { const tr = e.target.closest('tr[data-channel]'); if (tr) watch(tr.dataset.channel); });
$('tail-stop').addEventListener('click', () => { tail?.disconnect(); tail = null; $('tail').hidden = true; });
form.addEventListener('submit', (e) => { e.preventDefault(); sessionStorage.setItem('hubcast.apiKey', $('key').value.trim()); $('key').value = ''; refresh(); });
refresh();
</script>
</body></html>
`;

/** The page as served: it knows whether to ask for the key before its first request. */
export function adminPage(keyRequired: boolean): string {
  return PAGE.replace('__KEY_REQUIRED__', keyRequired ? 'true' : 'false');
}
