/**
 * `GET /docs`: the HTTP API read from `/openapi.json`, rendered in the page
 * (no CDN, no framework: the CSP allows nothing from elsewhere). Everything
 * from the document is set as text, never as HTML.
 */
export const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hubcast HTTP API</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; padding: 0 1rem; color: #1d232a; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #d6dbe0; }
  details { border: 1px solid #d6dbe0; border-radius: 6px; margin: .4rem 0; padding: .3rem .6rem; }
  summary { cursor: pointer; } .m { display: inline-block; width: 3.6rem; font-weight: 600; }
  .get { color: #1f6f43; } .post { color: #8a4b08; } code, pre { font: 12px/1.4 ui-monospace, monospace; }
  pre { background: #f4f6f8; padding: .5rem; overflow: auto; } .muted { color: #5b6670; }
</style>
</head>
<body>
<h1>hubcast HTTP API</h1>
<p class="muted">From <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). The realtime frames are described in docs/asyncapi.json.</p>
<div id="api">Loading…</div>
<script>
(function () {
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  fetch('/openapi.json').then(function (r) { return r.json(); }).then(function (doc) {
    var root = document.getElementById('api'); root.textContent = '';
    root.appendChild(el('p', doc.info.title + ' ' + doc.info.version + ' — ' + (doc.info.description || ''), 'muted'));
    var byTag = {};
    Object.keys(doc.paths).sort().forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method]; var tag = (op.tags && op.tags[0]) || 'other';
        (byTag[tag] = byTag[tag] || []).push({ path: path, method: method, op: op });
      });
    });
    Object.keys(byTag).sort().forEach(function (tag) {
      root.appendChild(el('h2', tag));
      byTag[tag].forEach(function (x) {
        var d = el('details'); var s = el('summary');
        s.appendChild(el('span', x.method.toUpperCase(), 'm ' + x.method));
        s.appendChild(el('code', x.path)); s.appendChild(document.createTextNode(' — ' + x.op.summary));
        if (x.op.security) s.appendChild(el('span', ' (API key)', 'muted'));
        d.appendChild(s);
        (x.op.parameters || []).forEach(function (p) { d.appendChild(el('div', p.in + ' ' + p.name + (p.required ? ' (required)' : '') + (p.description ? ': ' + p.description : ''))); });
        var body = x.op.requestBody && x.op.requestBody.content['application/json'];
        if (body) { d.appendChild(el('div', 'Request body', 'muted')); d.appendChild(el('pre', JSON.stringify(body.schema, null, 2))); if (body.example !== undefined) { d.appendChild(el('div', 'Example', 'muted')); d.appendChild(el('pre', JSON.stringify(body.example, null, 2))); } }
        d.appendChild(el('div', 'Responses: ' + Object.keys(x.op.responses).join(', '), 'muted'));
        root.appendChild(d);
      });
    });
  }).catch(function (e) { document.getElementById('api').textContent = 'Could not load /openapi.json: ' + e; });
})();
</script>
</body>
</html>
`;
