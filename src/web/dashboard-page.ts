/** `GET /`: a live catalog dashboard fed by the products channel over SSE. */
export const dashboardPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hubcast · catalog</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.flash{animation:flash 1s}
@keyframes flash{from{background:#ffe9a8}to{background:transparent}}
img{width:32px;height:32px;border-radius:4px;vertical-align:middle}
#stats{color:#666}
</style></head>
<body>
<h1>hubcast catalog</h1>
<p id="stats">connecting…</p>
<table><thead><tr><th></th><th>#</th><th>name</th><th class="num">price</th><th class="num">stock</th><th class="num">version</th><th>updated</th></tr></thead>
<tbody id="rows"></tbody></table>
<script>
(function(){
  var rows = document.getElementById('rows'), statsEl = document.getElementById('stats');
  var byId = new Map(), updates = 0;
  function cell(tr, text, cls){ var td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
  function render(p, flash){
    var tr = byId.get(p.id);
    if (tr && Number(tr.dataset.version) > p.version) return;
    var fresh = document.createElement('tr');
    fresh.dataset.version = p.version;
    var imgTd = document.createElement('td'); var img = document.createElement('img'); img.alt = ''; img.src = p.photo_url; imgTd.appendChild(img); fresh.appendChild(imgTd);
    cell(fresh, p.id, 'num'); cell(fresh, p.name); cell(fresh, Number(p.price).toFixed(2), 'num'); cell(fresh, p.stock, 'num'); cell(fresh, p.version, 'num'); cell(fresh, p.updated_at);
    if (flash) fresh.className = 'flash';
    if (tr) rows.replaceChild(fresh, tr); else rows.appendChild(fresh);
    byId.set(p.id, fresh);
  }
  function load(){
    return fetch('/api/products').then(function(r){ return r.ok ? r.json() : []; }).then(function(list){
      (Array.isArray(list) ? list : (list.products || [])).forEach(function(p){ render(p, false); });
    }).catch(function(){ statsEl.textContent = 'catalog unavailable'; });
  }
  load().then(function(){
    // With auth on (JWT_SECRET set), the page takes a token from its own URL: /?token=<jwt>.
    var token = new URLSearchParams(location.search).get('token');
    var streamUrl = '/realtime/events?channels=products' + (token ? '&token=' + encodeURIComponent(token) : '');
    var es = new EventSource(streamUrl);
    es.addEventListener('product.updated', function(e){
      updates++; render(JSON.parse(e.data), true);
      statsEl.textContent = updates + ' live updates';
    });
    es.addEventListener('system', function(e){
      var msg = JSON.parse(e.data);
      if (msg.type === 'recovery_failed') load();
      if (msg.type === 'connected') statsEl.textContent = 'live (' + updates + ' updates)';
    });
    es.onerror = function(){
      if (es.readyState !== 2) { statsEl.textContent = 'reconnecting…'; return; }
      // The browser gave up: ask once why. A refusal is not an outage, so it is not retried.
      fetch(streamUrl, { headers: { accept: 'text/event-stream' } }).then(function(r){
        if (r.body) r.body.cancel();
        if (r.status === 401 || r.status === 403) {
          var msg = r.status === 401
            ? 'Auth is on (JWT_SECRET is set) and this page has no valid token. Open it as /?token=<token>; for development, print one with: npx hubcast token --sub you --ttl 1h'
            : 'The token does not allow the products channel (403).';
          statsEl.textContent = msg;
          return;
        }
        statsEl.textContent = 'reconnecting… (stream answered ' + r.status + ')';
        setTimeout(function(){ location.reload(); }, 5000);
      }, function(){ statsEl.textContent = 'server unreachable; retrying…'; setTimeout(function(){ location.reload(); }, 5000); });
    };
  });
})();
</script>
</body></html>
`;
