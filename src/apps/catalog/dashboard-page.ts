/**
 * `GET /`: the live catalog. Built on the SDK module (/sdk/hubcast.js): the
 * product stream over SSE (resume and reconnect are the SDK's), a price
 * sparkline per product, and a header of live charts. Events per second are
 * counted from the stream itself; deliveries and connections come from
 * /realtime/stats every two seconds. Data is always rendered as text.
 */
import { PAGE_CHROME_CSS } from '../../web/page-chrome.js';

export const dashboardPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hubcast · catalog</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.ico">
<style>
${PAGE_CHROME_CSS}
.card svg{display:block;width:8rem;height:28px}
.card polyline{fill:none;stroke:#2dd4bf;stroke-width:1.5}
.card select{display:block;margin-top:.3rem;background:#111827;color:#fff;border:1px solid #374151;border-radius:4px;padding:.2rem}
main{padding:1rem 1.5rem}
#stats{color:#6b7280;margin:.2rem 0 .8rem}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.3rem .5rem;border-bottom:1px solid #eef2f7;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.spark svg{width:90px;height:22px;display:block}td.spark polyline{fill:none;stroke:#0d9488;stroke-width:1.5}
tr.flash{animation:flash 1s}tr.up td.price{color:#047857}tr.down td.price{color:#b91c1c}
@keyframes flash{from{background:#fff3c4}to{background:transparent}}
img{width:32px;height:32px;border-radius:4px;vertical-align:middle}
</style></head>
<body>
<header>
<h1><span id="dot" title="connection"></span> hubcast</h1>
<div class="card"><span>events / s</span><b id="rate">0</b><svg id="rate-chart" viewBox="0 0 60 28" preserveAspectRatio="none"><polyline/></svg></div>
<div class="card"><span>deliveries / s</span><b id="out">–</b><svg id="out-chart" viewBox="0 0 60 28" preserveAspectRatio="none"><polyline/></svg></div>
<div class="card"><span>ws · sse · other</span><b id="conns">–</b><svg id="conn-chart" viewBox="0 0 60 28" preserveAspectRatio="none"><polyline/></svg></div>
<div class="card"><span>in flight · dead letters</span><b id="backlog">–</b></div>
<div class="card"><span>transport</span><select id="transport"><option value="sse">SSE</option><option value="ws">WebSocket</option></select></div>
</header>
<main>
<p id="stats">connecting…</p>
<table><thead><tr><th></th><th>#</th><th>name</th><th class="num">price</th><th>recent prices</th><th class="num">stock</th><th class="num">version</th><th>updated</th></tr></thead>
<tbody id="rows"></tbody></table>
</main>
<script type="module">
import { createSSEClient, WSClient } from '/sdk/hubcast.js';
const rows = document.getElementById('rows'), statsEl = document.getElementById('stats'), dot = document.getElementById('dot');
const byId = new Map();
const HISTORY = 60, PRICES = 24;
let updates = 0, thisSecond = 0;
const series = { rate: [], out: [], conns: [] };
const SVG = 'http://www.w3.org/2000/svg';

function points(values, width, height) {
  if (values.length === 0) return '';
  const max = Math.max(...values), min = Math.min(...values), span = max - min || 1;
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values.map((v, i) => (i * step).toFixed(1) + ',' + (height - 2 - ((v - min) / span) * (height - 4)).toFixed(1)).join(' ');
}
function chart(id, values) {
  document.querySelector('#' + id + ' polyline').setAttribute('points', points(values, 60, 28));
}
function push(list, v) { list.push(v); if (list.length > HISTORY) list.shift(); }
function cell(tr, text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }

function render(p, flash) {
  const known = byId.get(p.id);
  if (known && known.version > p.version) return;
  const prices = known ? known.prices : [];
  if (!known || known.price !== Number(p.price)) { prices.push(Number(p.price)); if (prices.length > PRICES) prices.shift(); }
  const tr = document.createElement('tr');
  tr.dataset.version = p.version;
  const imgTd = document.createElement('td'); const img = document.createElement('img'); img.alt = ''; img.src = p.photo_url; imgTd.appendChild(img); tr.appendChild(imgTd);
  cell(tr, p.id, 'num'); cell(tr, p.name); cell(tr, Number(p.price).toFixed(2), 'num price');
  const spark = cell(tr, '', 'spark');
  const svg = document.createElementNS(SVG, 'svg'); svg.setAttribute('viewBox', '0 0 90 22'); svg.setAttribute('preserveAspectRatio', 'none');
  const line = document.createElementNS(SVG, 'polyline'); line.setAttribute('points', points(prices, 90, 22)); svg.appendChild(line); spark.appendChild(svg);
  cell(tr, p.stock, 'num'); cell(tr, p.version, 'num'); cell(tr, p.updated_at);
  if (flash) tr.className = 'flash' + (known && Number(p.price) > known.price ? ' up' : known && Number(p.price) < known.price ? ' down' : '');
  if (known) rows.replaceChild(tr, known.tr); else rows.appendChild(tr);
  byId.set(p.id, { tr, version: p.version, price: Number(p.price), prices });
}

async function load() {
  try {
    const r = await fetch('/api/products');
    const list = r.ok ? await r.json() : [];
    (Array.isArray(list) ? list : list.products || []).forEach((p) => render(p, false));
  } catch { statsEl.textContent = 'catalog unavailable'; }
}

let last = null;
async function sample() {
  push(series.rate, thisSecond); chart('rate-chart', series.rate);
  document.getElementById('rate').textContent = thisSecond; thisSecond = 0;
}
async function stats() {
  try {
    const r = await fetch('/realtime/stats');
    if (!r.ok) return;
    const s = await r.json(), now = performance.now();
    if (last) { const perS = Math.round((s.messages_out - last.s.messages_out) / ((now - last.at) / 1000)); push(series.out, perS); chart('out-chart', series.out); document.getElementById('out').textContent = perS; }
    last = { s, at: now };
    const other = (s.tcp_count || 0) + (s.long_poll_held || 0);
    document.getElementById('conns').textContent = s.websocket_count + ' · ' + s.sse_count + ' · ' + other;
    push(series.conns, s.connections); chart('conn-chart', series.conns);
    document.getElementById('backlog').textContent = (s.events_in_flight ?? '–') + ' · ' + (s.events_dead_lettered ?? '–');
  } catch { /* the gateway is restarting: the stream's state says so */ }
}
setInterval(sample, 1000);
setInterval(stats, 2000);
stats();

await load();
// With auth on (JWT_SECRET set), the page takes a token from its own URL: /?token=<jwt>.
const token = new URLSearchParams(location.search).get('token') || undefined;
const onUpdate = (product) => {
  updates++; thisSecond++;
  render(product, true);
  statsEl.textContent = updates + ' live updates';
};
const onState = ({ to }) => {
  dot.className = to; dot.title = to;
  if (to === 'connected') statsEl.textContent = 'live (' + updates + ' updates)';
  else if (to === 'unauthorized') statsEl.textContent = 'Auth is on (JWT_SECRET is set) and this page has no valid token. Open it as /?token=<token>; for development, print one with: npx hubcast token --sub you --ttl 1h';
  else if (to === 'forbidden') statsEl.textContent = 'The token does not allow the products channel (403).';
  else if (to === 'reconnecting') statsEl.textContent = 'reconnecting…';
};
// The transport switch: the same product stream over SSE or over the WebSocket.
let client = null;
function open(transport) {
  client?.disconnect();
  if (transport === 'ws') {
    const ws = new WSClient(location.origin.replace(/^http/, 'ws') + '/realtime/ws', { token, tokenTransport: 'query' });
    ws.on('event', (e) => { if (e.channel === 'products' && e.event === 'product.updated') onUpdate(e.data); });
    ws.on('recovery_failed', () => load());
    ws.onStateChange(onState);
    ws.connect().then(() => ws.joinChannel('products')).catch(() => undefined);
    client = ws;
  } else {
    const sse = createSSEClient(location.origin + '/realtime/events?channels=products', { token });
    sse.on('product.updated', (e) => onUpdate(e.data));
    sse.on('recovery_failed', () => load());
    sse.onStateChange(onState);
    client = sse;
  }
  dot.className = client.state;
}
const select = document.getElementById('transport');
select.value = new URLSearchParams(location.search).get('transport') === 'ws' ? 'ws' : 'sse';
select.addEventListener('change', () => open(select.value));
open(select.value);
</script>
</body></html>
`;
