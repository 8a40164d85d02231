/**
 * `GET /chat`: the chat page. Plain HTML, CSS and JS (no build step), talking
 * to the gateway with a WebSocket and the chat HTTP API. Every piece of user
 * text goes into the DOM through `textContent`, never as HTML.
 *
 * How it keeps every message exactly once across reloads and reconnects:
 * - messages are keyed by id and kept sorted by id; a message already shown is
 *   never shown again, whether it comes live, from a replay or from history;
 * - on every (re)connect it joins `chat:<room>` with `since` (the last event
 *   id seen) AND reads history from the newest page back until it meets a
 *   message it already has, so nothing missed while away stays missing;
 * - a post is shown at once (pending) under a fresh `client_msg_id`, kept in
 *   sessionStorage until the server answers, and re-sent with the same id after
 *   a reconnect or a reload: the server stores a repeated id once.
 */
export const chatPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hubcast · chat</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f5f5f7;height:100vh;display:flex;flex-direction:column}
header{display:flex;align-items:center;gap:.75rem;padding:.6rem 1rem;background:#fff;border-bottom:1px solid #ddd}
header h1{font-size:1.05rem;margin:0}
#state{font-size:.8rem;padding:.1rem .55rem;border-radius:1rem;background:#eee}
#state.connected{background:#d4f5d4}#state.reconnecting,#state.connecting{background:#fff1c2}#state.offline{background:#f9d0d0}
#who{margin-left:auto;font-size:.85rem;color:#555}
#pick{margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:.6rem;box-shadow:0 1px 4px rgba(0,0,0,.08);display:grid;gap:.7rem;min-width:18rem}
#pick label{display:grid;gap:.2rem;font-size:.85rem}
input,button{font:inherit;padding:.45rem .6rem;border:1px solid #bbb;border-radius:.4rem}
button{background:#0a66d8;color:#fff;border-color:#0a66d8;cursor:pointer}
button.plain{background:#fff;color:#0a66d8}
main{flex:1;display:flex;min-height:0}
#chat{flex:1;display:flex;flex-direction:column;min-width:0}
#log{flex:1;overflow:auto;margin:0;padding:.75rem 1rem;list-style:none}
#log li{margin:.15rem 0;padding:.3rem .6rem;background:#fff;border-radius:.45rem;max-width:48rem}
#log li.mine{background:#e3efff}
#log li.pending{opacity:.55}
#log li.failed{outline:1px solid #d33}
#log .meta{font-size:.75rem;color:#666;margin-right:.5rem}
#log .user{font-weight:600;margin-right:.4rem}
#log .text{white-space:pre-wrap;overflow-wrap:anywhere}
#older{margin:.5rem auto 0;display:block}
#typing{min-height:1.2rem;font-size:.8rem;color:#666;padding:0 1rem}
#send{display:flex;gap:.5rem;padding:.6rem 1rem;background:#fff;border-top:1px solid #ddd}
#text{flex:1}
aside{width:14rem;border-left:1px solid #ddd;background:#fff;padding:.75rem 1rem;overflow:auto}
aside h2{font-size:.85rem;text-transform:uppercase;color:#666;margin:.2rem 0 .5rem}
aside ul{list-style:none;margin:0 0 1rem;padding:0}
aside li{padding:.1rem 0}
aside a{color:#0a66d8;text-decoration:none}
[hidden]{display:none!important}
</style></head>
<body>
<header><h1>hubcast chat</h1><span id="room-title"></span>
<span id="state" role="status" aria-live="polite">idle</span><span id="who"></span></header>
<form id="pick" hidden>
  <label>Your name <input id="pick-name" required pattern="[A-Za-z0-9_.@-]{1,64}" maxlength="64" autocomplete="nickname"></label>
  <label>Room <input id="pick-room" required pattern="[A-Za-z0-9_-]{1,64}" maxlength="64" value="lobby"></label>
  <button>Enter the room</button>
</form>
<main id="main" hidden>
  <section id="chat" aria-label="Messages">
    <ol id="log" role="log" aria-live="polite" aria-relevant="additions">
      <li id="older-row" hidden style="background:none"><button id="older" class="plain" type="button">Load older messages</button></li>
    </ol>
    <div id="typing" aria-live="polite"></div>
    <form id="send"><label for="text" hidden>Message</label>
      <input id="text" maxlength="4000" autocomplete="off" placeholder="Message — Enter sends" aria-label="Message">
      <button id="send-button">Send</button></form>
  </section>
  <aside><h2>Present</h2><ul id="members" aria-label="People in this room"></ul>
  <h2>Rooms</h2><ul id="rooms" aria-label="Rooms"></ul></aside>
</main>
<script>
(function(){
  'use strict';
  var params = new URLSearchParams(location.search);
  var NAME = /^[A-Za-z0-9_.@-]{1,64}$/, ROOM = /^[A-Za-z0-9_-]{1,64}$/;
  var token = params.get('token');
  var $ = function(id){ return document.getElementById(id); };
  var name = params.get('name'), room = params.get('room');
  var byId = new Map();          // id → {message, el}
  var pending = new Map();       // client_msg_id → {text, el}
  var ws = null, lastEventId = null, attempt = 0, timer = null, oldest = null, olderDone = false;
  var channel = '';
  var outboxKey = '';

  function setState(s){ var el = $('state'); el.textContent = s; el.className = s; document.body.dataset.state = s; }
  function api(path){
    var headers = token ? { Authorization: 'Bearer ' + token } : {};
    return fetch(path, { headers: headers }).then(function(r){ if (!r.ok) throw new Error(path + ': HTTP ' + r.status); return r.json(); });
  }
  function time(iso){ var d = new Date(iso); return isNaN(d) ? '' : d.toLocaleTimeString([], {hour:'2-digit', minute:'2-digit'}); }

  function render(li, m, mine){
    li.textContent = '';
    var meta = document.createElement('span'); meta.className = 'meta'; meta.textContent = time(m.created_at);
    var user = document.createElement('span'); user.className = 'user'; user.textContent = m.user_id;
    var text = document.createElement('span'); text.className = 'text'; text.textContent = m.text;
    li.append(meta, user, text);
    li.classList.toggle('mine', mine);
  }

  // Insert in id order (ids are zero-padded: string order is message order); pending posts stay last.
  function place(li, id){
    var log = $('log'), node = log.lastElementChild;
    while (node && node.id !== 'older-row' && (node.dataset.pending === '1' || node.dataset.id > id)) node = node.previousElementSibling;
    log.insertBefore(li, node ? node.nextElementSibling : log.firstElementChild);
  }

  function add(m){
    if (!m || typeof m.id !== 'string' || byId.has(m.id)) return false;
    var mine = m.user_id === name, li;
    var p = m.client_msg_id && mine ? pending.get(m.client_msg_id) : undefined;
    if (p) { li = p.el; pending.delete(m.client_msg_id); saveOutbox(); li.remove(); li.classList.remove('pending','failed'); delete li.dataset.pending; }
    else li = document.createElement('li');
    li.dataset.id = m.id;
    render(li, m, mine);
    byId.set(m.id, { message: m, el: li });
    var log = $('log'), atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    place(li, m.id);
    if (oldest === null || m.id < oldest) oldest = m.id;
    if (atBottom || mine) log.scrollTop = log.scrollHeight;
    return true;
  }

  // ---- posting: optimistic, reconciled by client_msg_id, re-sent until acknowledged
  function saveOutbox(){
    var list = []; pending.forEach(function(p, cid){ list.push({ cid: cid, text: p.text }); });
    try { sessionStorage.setItem(outboxKey, JSON.stringify(list)); } catch (e) { /* storage full or off: posts still go out while the page lives */ }
  }
  function loadOutbox(){
    var list = [];
    try { list = JSON.parse(sessionStorage.getItem(outboxKey) || '[]'); } catch (e) { list = []; }
    list.forEach(function(p){ if (p && typeof p.cid === 'string' && typeof p.text === 'string') queue(p.text, p.cid); });
  }
  function newId(){ return (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2)); }
  function queue(text, cid){
    var li = document.createElement('li');
    li.className = 'pending'; li.dataset.pending = '1';
    render(li, { user_id: name, text: text, created_at: new Date().toISOString() }, true);
    $('log').appendChild(li);
    $('log').scrollTop = $('log').scrollHeight;
    pending.set(cid, { text: text, el: li });
    saveOutbox();
    transmit(cid);
  }
  function transmit(cid){
    var p = pending.get(cid);
    if (!p || !ws || ws.readyState !== 1) return;
    ws.send(JSON.stringify({ type: 'channel_message', channel: channel, message: { text: p.text, client_msg_id: cid }, ref: cid }));
  }

  // ---- history: the newest page, then back until it meets what is shown
  function catchUp(){
    var had = byId.size > 0, newestKnown = null;
    byId.forEach(function(_v, id){ if (newestKnown === null || id > newestKnown) newestKnown = id; });
    function page(before, left){
      return api('/api/chat/rooms/' + room + '/messages?limit=100' + (before ? '&before=' + before : '')).then(function(p){
        p.messages.forEach(add);
        var first = p.messages[0];
        if (!had) { olderDone = p.next_before === null; $('older-row').hidden = olderDone; return; }
        if (p.next_before && first && newestKnown !== null && first.id > newestKnown && left > 0) return page(p.next_before, left - 1);
      });
    }
    return page(null, 50).catch(function(err){ console.warn('history', err); });
  }
  var loadingOlder = false;
  function older(){
    if (oldest === null || olderDone || loadingOlder) return;
    loadingOlder = true;
    var log = $('log'), from = log.scrollHeight - log.scrollTop;
    api('/api/chat/rooms/' + room + '/messages?limit=50&before=' + oldest).then(function(p){
      p.messages.forEach(add);
      olderDone = p.next_before === null;
      $('older-row').hidden = olderDone;
      log.scrollTop = log.scrollHeight - from;
    }).catch(function(err){ console.warn('older', err); }).then(function(){ loadingOlder = false; });
  }

  // ---- typing: sent at most every 2.5 s while typing; shown until its expires_at (6 s at most)
  var typingUntil = new Map(), typingSent = 0, typingTimer = null;
  function typingShow(){
    var now = Date.now(), names = [];
    typingUntil.forEach(function(until, u){ if (until > now) names.push(u); else typingUntil.delete(u); });
    $('typing').textContent = names.length === 0 ? '' : names.sort().join(', ') + (names.length === 1 ? ' is' : ' are') + ' typing…';
    clearTimeout(typingTimer);
    if (names.length) typingTimer = setTimeout(typingShow, 500);
  }
  function typingHeard(d){
    if (!d || typeof d.user_id !== 'string' || d.user_id === name) return;
    var left = Date.parse(d.expires_at) - Date.now();   // a replayed, stale signal has nothing left
    if (!(left > 0)) return;
    typingUntil.set(d.user_id, Date.now() + Math.min(left, 6000));
    typingShow();
  }
  function typingSend(){
    var now = Date.now();
    if (now - typingSent < 2500 || !ws || ws.readyState !== 1) return;
    typingSent = now;
    ws.send(JSON.stringify({ type: 'channel_message', channel: channel, message: { typing: true } }));
  }

  // ---- presence and rooms
  var membersTimer = null;
  function members(){
    clearTimeout(membersTimer);
    membersTimer = setTimeout(function(){
      api('/api/chat/rooms/' + room + '/members').then(function(r){
        var users = new Map();
        r.members.forEach(function(m){ var u = m.user_id || 'anonymous'; users.set(u, (users.get(u) || 0) + 1); });
        var ul = $('members'); ul.textContent = '';
        Array.from(users.keys()).sort().forEach(function(u){
          var li = document.createElement('li'); li.textContent = u + (users.get(u) > 1 ? ' (' + users.get(u) + ')' : ''); ul.appendChild(li);
        });
        // A big room lists its first page of connections; the count is the whole room's.
        if (r.count > r.members.length) { var more = document.createElement('li'); more.textContent = '… ' + (r.count - r.members.length) + ' more'; ul.appendChild(more); }
      }).catch(function(){});
    }, 100);
  }
  var roomsTimer = null;
  function rooms(){
    clearTimeout(roomsTimer);
    roomsTimer = setTimeout(roomsNow, 1000);
  }
  function roomsNow(){
    api('/api/chat/rooms').then(function(r){
      var ul = $('rooms'); ul.textContent = '';
      r.rooms.slice(0, 30).forEach(function(x){
        var li = document.createElement('li'), a = document.createElement('a');
        var q = new URLSearchParams({ room: x.room, name: name }); if (token) q.set('token', token);
        a.href = '/chat?' + q.toString(); a.textContent = x.room + ' (' + x.messages + (x.messages === 1 ? ' message' : ' messages') + (x.members ? ', ' + x.members + ' here' : '') + ')'; li.appendChild(a); ul.appendChild(li);
      });
    }).catch(function(){});
  }

  // ---- the connection
  function connect(){
    clearTimeout(timer);
    setState(attempt === 0 ? 'connecting' : 'reconnecting');
    var q = new URLSearchParams({ user_id: name }); if (token) q.set('token', token);
    var sock = ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/realtime/ws?' + q.toString());
    sock.onmessage = function(e){
      var f; try { f = JSON.parse(e.data); } catch (err) { return; }
      if (f.type === 'connected') {
        var data = { channel: channel }; if (lastEventId !== null) data.since = lastEventId;
        sock.send(JSON.stringify({ type: 'command', command: 'join_channel', data: data, ref: 'join' }));
      } else if (f.type === 'reply' && f.ref === 'join') {
        attempt = 0; setState('connected');
        if (lastEventId === null && f.data) lastEventId = f.data.last_id;
        catchUp().then(function(){ pending.forEach(function(_p, cid){ transmit(cid); }); });
        members(); roomsNow();
      } else if (f.type === 'reply' && f.data && f.data.message) {
        add(f.data.message);
      } else if (f.type === 'event' && f.channel === channel) {
        if (f.id !== null && f.id !== undefined) lastEventId = f.id;
        if (f.event === 'chat.message') { add(f.data); rooms(); if (f.data && typingUntil.delete(f.data.user_id)) typingShow(); }
        else if (f.event === 'chat.typing') typingHeard(f.data);
        else if (f.event === 'presence.join' || f.event === 'presence.leave' || f.event === 'presence.diff') members();
      } else if (f.type === 'error') {
        var p = f.ref !== undefined ? pending.get(f.ref) : undefined;
        if (p && f.code !== 'not_ready' && f.code !== 'rate_limited') {
          // Refused for good (invalid, forbidden): show it, stop re-sending it.
          p.el.classList.add('failed'); p.el.title = f.code + ': ' + f.message; pending.delete(f.ref); saveOutbox();
        } else if (p) {
          setTimeout(function(){ transmit(f.ref); }, 1000);
        } else if (f.ref === 'join') {
          setState('offline'); $('typing').textContent = f.code + ': ' + f.message;
        }
      }
    };
    sock.onclose = function(){
      if (ws !== sock) return;
      ws = null;
      attempt++;
      setState('reconnecting');
      // Full jitter, capped: a restarted server is not stampeded by every tab at once.
      timer = setTimeout(connect, Math.random() * Math.min(5000, 250 * Math.pow(2, attempt)));
    };
  }

  function start(){
    channel = 'chat:' + room;
    outboxKey = 'hubcast-chat-outbox:' + room + ':' + name;
    document.title = room + ' · hubcast chat';
    $('room-title').textContent = '#' + room;
    $('who').textContent = 'as ' + name;
    $('pick').hidden = true; $('main').hidden = false;
    loadOutbox();
    connect();
    $('text').focus();
  }

  $('send').addEventListener('submit', function(e){
    e.preventDefault();
    var input = $('text'), text = input.value;
    if (!text.trim()) return;
    input.value = '';
    typingSent = 0;
    queue(text, newId());
  });
  $('text').addEventListener('input', function(){ if ($('text').value.trim()) typingSend(); });
  $('older').addEventListener('click', older);
  $('log').addEventListener('scroll', function(){ if ($('log').scrollTop === 0) older(); });
  window.addEventListener('online', function(){ if (!ws) { attempt = 0; connect(); } });
  $('pick').addEventListener('submit', function(e){
    e.preventDefault();
    name = $('pick-name').value.trim(); room = $('pick-room').value.trim();
    if (!NAME.test(name) || !ROOM.test(room)) return;
    var q = new URLSearchParams({ room: room, name: name }); if (token) q.set('token', token);
    history.replaceState(null, '', '/chat?' + q.toString());
    start();
  });

  if (name && room && NAME.test(name) && ROOM.test(room)) start();
  else {
    if (room && ROOM.test(room)) $('pick-room').value = room;
    if (name && NAME.test(name)) $('pick-name').value = name;
    $('pick').hidden = false; $('pick-name').focus();
  }
})();
</script>
</body></html>
`;
