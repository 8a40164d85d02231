/**
 * `GET /realtime/sse-test`: connects an EventSource and lists events as they
 * arrive (as text, never HTML). `channels` fills the form: the applications'
 * default channels, which channel-name rules keep free of HTML and quotes.
 */
export const sseTestPage = (channels: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hubcast · SSE test</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
#log{font:12px/1.4 ui-monospace,monospace;white-space:pre-wrap;border:1px solid #ddd;padding:.5rem;height:60vh;overflow:auto}
.status{display:inline-block;padding:.1rem .5rem;border-radius:3px;background:#eee}
.open{background:#cfc}.closed{background:#fcc}
</style></head>
<body>
<h1>SSE test</h1>
<form id="f">Channels <input id="channels" value="${channels}" size="40">
<button>Connect</button> <span id="status" class="status">idle</span> <span id="count">0</span> events</form>
<div id="log" role="log" aria-live="polite"></div>
<script>
(function(){
  var es = null, count = 0;
  var log = document.getElementById('log'), status = document.getElementById('status');
  function line(kind, text){
    var div = document.createElement('div');
    div.textContent = new Date().toISOString().slice(11,23) + ' ' + kind + ' ' + text;
    log.appendChild(div);
    while (log.childNodes.length > 500) log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
  }
  function setStatus(s){ status.textContent = s; status.className = 'status ' + s; }
  function connect(){
    if (es) es.close();
    var params = new URLSearchParams(location.search);
    var q = new URLSearchParams({ channels: document.getElementById('channels').value });
    if (params.get('token')) q.set('token', params.get('token'));
    es = new EventSource('/realtime/events?' + q.toString());
    setStatus('connecting');
    es.onopen = function(){ setStatus('open'); };
    es.onerror = function(){ setStatus(es.readyState === 2 ? 'closed' : 'connecting'); };
    es.onmessage = function(e){ count++; document.getElementById('count').textContent = count; line('message #' + e.lastEventId, e.data); };
    ['system','product.updated','file.uploaded','presence.join','presence.leave'].forEach(function(name){
      es.addEventListener(name, function(e){ count++; document.getElementById('count').textContent = count; line(name + (e.lastEventId ? ' #' + e.lastEventId : ''), e.data); });
    });
  }
  document.getElementById('f').addEventListener('submit', function(e){ e.preventDefault(); connect(); });
  connect();
})();
</script>
</body></html>
`;
