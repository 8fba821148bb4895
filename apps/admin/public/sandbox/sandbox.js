// Switchboard sandbox page: plain JS, no build step. Talks to /sandbox/api/* on the admin app.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var state = { info: null, conversation: null, polling: null, busy: false };

  function randomCustomer(channel) {
    var n = '';
    for (var i = 0; i < 8; i++) n += Math.floor(Math.random() * 10);
    if (channel === 'telegram') return '7' + n;
    return channel === 'whatsapp' ? '1555' + n : 'wmSandbox' + n;
  }
  function storedCustomer(channel) {
    var key = 'sb.customer.' + channel;
    var v = localStorage.getItem(key);
    if (!v) { v = randomCustomer(channel); localStorage.setItem(key, v); }
    return v;
  }
  function channel() { return $('channel').value; }
  function customer() { return $('customer').value.trim(); }

  function api(method, path, body) {
    var init = { method: method, headers: {} };
    if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch('/sandbox/api/' + path, init).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (!res.ok && res.status !== 502) throw new Error(json.error || ('HTTP ' + res.status));
        return { status: res.status, body: json };
      });
    });
  }

  function fmtMs(ms) { return ms === undefined || ms === null ? '' : ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s'; }
  function time(ts) { return new Date(ts).toLocaleTimeString(); }

  function renderInfo() {
    var info = state.info;
    var badge = $('agent-mode');
    badge.textContent = info.agent === 'online' ? 'agent: LLM online' : 'agent: OFFLINE (FAQ only)';
    badge.className = 'badge ' + info.agent;
    $('agent-note').textContent = info.agentNote;
    var topics = $('faq-topics');
    topics.textContent = '';
    if (info.agent !== 'online' && info.offline) {
      var intro = document.createElement('span');
      intro.textContent = info.offline.faq.length
        ? 'The FAQ covers (try one): '
        : 'The FAQ is empty (add entries under faq: in AGENT_CONFIG); ';
      topics.appendChild(intro);
      info.offline.faq.forEach(function (t) {
        var item = document.createElement('button');
        item.type = 'button';
        item.className = 'topic';
        item.setAttribute('data-testid', 'faq-topic');
        item.textContent = t.example ? '“' + t.example + '”' : t.id;
        item.title = 'FAQ entry ' + t.id + (t.example ? ': click to type it' : '');
        if (t.example) item.addEventListener('click', function () { $('text').value = t.example; $('text').focus(); });
        topics.appendChild(item);
      });
      if (info.offline.smallTalk) {
        var tail = document.createElement('span');
        tail.textContent = ' — greetings and thanks are answered too; everything else gets the offline notice.';
        topics.appendChild(tail);
      }
    }
    var ch = info.channels[channel()];
    $('channel-note').textContent = ch && ch.enabled
      ? (channel() === 'whatsapp'
          ? 'Webhooks are signed with X-Hub-Signature-256 and posted to ' + ch.ingress + '/webhooks/whatsapp; replies are caught by the fake Graph API.'
          : channel() === 'telegram'
          ? 'Updates carry X-Telegram-Bot-Api-Secret-Token and are posted to ' + ch.ingress + '/webhooks/telegram; replies are caught by the fake Bot API (sendMessage, sendPhoto…).'
          : 'Callbacks are AES-encrypted and signed (msg_signature) and posted to ' + ch.ingress + '/webhooks/wechat-kf; the worker pulls the message with kf/sync_msg from the fake WeCom API.')
      : 'This channel is not faked in this sandbox: a channel with real credentials never is (the sandbox never drives a real channel).';
  }

  // media elements are created once per URL and moved between renders: an image never reloads (and never
  // changes the chat's height again) because a line around it changed
  var mediaNodes = {};
  function mediaNode(m) {
    var key = m.kind + '|' + (m.url || '') + '|' + (m.filename || '');
    if (mediaNodes[key]) return mediaNodes[key];
    var node;
    if (m.kind === 'image' && m.url) {
      node = document.createElement('img');
      node.alt = m.filename || 'image';
      // the image grows the chat only once it has loaded: follow the end again then
      node.addEventListener('load', followIfAtEnd);
      node.src = m.url;
    } else if ((m.kind === 'audio' || m.kind === 'voice') && m.url) {
      node = document.createElement('audio');
      node.controls = true;
      node.addEventListener('loadedmetadata', followIfAtEnd);
      node.src = m.url;
    } else {
      node = document.createElement('span');
      node.textContent = '[' + m.kind + (m.filename ? ': ' + m.filename : '') + ']';
    }
    mediaNodes[key] = node;
    return node;
  }

  // "following" is what the reader chose by scrolling, not a measurement taken at render time (an image
  // that loads after the render would otherwise leave the chat short of its end and stop it following).
  // Scroll events of the page's own scrolling are recognised by their position and ignored: content that
  // grows before the event is dispatched must not be mistaken for the reader scrolling up.
  var follow = true;
  var ownTop = -1;
  function nearEnd(el) { return el.scrollTop + el.clientHeight >= el.scrollHeight - 40; }
  function scrollToEnd() { var chat = $('chat'); chat.scrollTop = chat.scrollHeight; ownTop = chat.scrollTop; }
  function followIfAtEnd() { if (follow) scrollToEnd(); }
  $('chat').addEventListener('scroll', function () {
    var chat = $('chat');
    if (chat.scrollTop === ownTop) return;
    ownTop = -1;
    follow = nearEnd(chat);
    if (follow) scrollToEnd();
  });

  var SOURCE_LABEL = { local: 'local', faq: 'faq', offline: 'offline', llm: 'llm' };
  function botLabel(l, sourceOf) {
    if (l.author === 'human') return 'Support agent (human)';
    var src = l.outboundId && sourceOf[l.outboundId];
    return 'Bot' + (src ? ' · ' + (SOURCE_LABEL[src] || src) : '');
  }

  function lineNode(l, label) {
    var li = document.createElement('li');
    li.className = l.author;
    li.setAttribute('data-testid', 'msg-' + l.author);
    li.setAttribute('data-line', l.id);
    if (label) {
      var who = document.createElement('span');
      who.className = 'who';
      who.setAttribute('data-testid', 'who');
      who.textContent = label;
      li.appendChild(who);
    }
    if (l.media) li.appendChild(mediaNode(l.media));
    var text = document.createElement('span');
    text.className = 'text';
    text.textContent = l.text;
    li.appendChild(text);
    if (l.author === 'customer') {
      var meta = document.createElement('span');
      meta.className = 'meta';
      meta.setAttribute('data-testid', 'meta');
      var t = l.trace || {};
      var humanRead = l.path && l.path.readByHuman;
      if (humanRead) li.className += ' read-by-human';
      meta.textContent = time(l.at) + (t.ingressStatus !== undefined ? ' · ingress ' + (t.ingressStatus || 'unreachable') : '') +
        (humanRead ? ' · read by the support agent ✓✓' : l.readAt ? ' · read ✓✓' : '');
      li.appendChild(meta);
    }
    return li;
  }

  var rendered = {};
  var renderedKey = '';
  function renderChat(lines) {
    var chat = $('chat');
    var key = channel() + '|' + customer();
    if (key !== renderedKey) {
      renderedKey = key;
      rendered = {};
      chat.textContent = '';
      follow = true;
    }
    // which agent source produced each reply: the customer message's traced outbound job says
    var sourceOf = {};
    lines.forEach(function (l) {
      if (!l.path || !l.path.source) return;
      l.path.steps.forEach(function (s) { if (s.queue.indexOf('outbound-') === 0) sourceOf[s.jobId] = l.path.source; });
    });
    // the customer sees a human reply only once the provider accepted it
    var visible = lines.filter(function (l) { return !(l.author === 'human' && !l.deliveredAt); });
    var keep = {};
    var changed = false;
    visible.forEach(function (l, i) {
      var label = l.author === 'customer' || l.author === 'system' ? '' : botLabel(l, sourceOf);
      var sig = JSON.stringify([l.text, l.media, l.readAt, l.trace && l.trace.ingressStatus, label, Boolean(l.path && l.path.readByHuman)]);
      var prev = rendered[l.id];
      keep[l.id] = true;
      if (prev && prev.sig === sig && chat.children[i] === prev.li) return;
      var li = lineNode(l, label);
      if (prev && prev.li.parentNode === chat) chat.replaceChild(li, prev.li);
      else chat.insertBefore(li, chat.children[i] || null);
      rendered[l.id] = { sig: sig, li: li };
      changed = true;
    });
    Object.keys(rendered).forEach(function (id) {
      if (keep[id]) return;
      var r = rendered[id];
      if (r.li.parentNode) r.li.parentNode.removeChild(r.li);
      delete rendered[id];
      changed = true;
    });
    if (changed && follow) scrollToEnd();
  }

  function stepNode(s, postedAt) {
    var span = document.createElement('span');
    span.className = 'step ' + s.state;
    var parts = [s.queue, s.state];
    if (s.addedAt && s.startedAt) parts.push('wait ' + fmtMs(Math.max(0, s.startedAt - s.addedAt)));
    if (s.startedAt && s.finishedAt) parts.push('run ' + fmtMs(s.finishedAt - s.startedAt));
    if (s.finishedAt && postedAt) parts.push('@+' + fmtMs(s.finishedAt - postedAt));
    if (s.attempts > 1) parts.push(s.attempts + ' attempts');
    if (s.failedReason) parts.push('✗ ' + s.failedReason);
    span.textContent = parts.join(' · ');
    span.title = 'job id ' + s.jobId;
    return span;
  }

  function renderPaths(lines) {
    var ol = $('paths');
    ol.textContent = '';
    lines.filter(function (l) { return l.author === 'customer' || l.author === 'human'; }).slice(-15).reverse().forEach(function (l) {
      var li = document.createElement('li');
      li.setAttribute('data-testid', 'path');
      var head = document.createElement('div');
      var label = l.author === 'human' ? 'human reply' : (l.media ? '[' + l.media.kind + '] ' : '') + (l.text || '');
      var t = l.trace || {};
      head.textContent = time(l.at) + ' — ' + label.slice(0, 60) +
        (l.author === 'customer' ? ' — webhook ' + (t.ingressStatus === undefined ? '…' : t.ingressStatus || 'unreachable') + (t.ingressMs !== undefined ? ' in ' + fmtMs(t.ingressMs) : '') : '') +
        (l.path && l.path.totalMs !== undefined ? ' — reply after ' + fmtMs(l.path.totalMs) : '') +
        (l.path && l.path.readByHuman ? ' — read by the support agent (no bot reply)' : l.path && l.path.source ? ' — ' + l.path.source : '');
      li.appendChild(head);
      var steps = document.createElement('div');
      steps.className = 'steps';
      ((l.path && l.path.steps) || []).forEach(function (s) { steps.appendChild(stepNode(s, t.postedAt || l.at)); });
      li.appendChild(steps);
      ol.appendChild(li);
    });
  }

  function renderOwner(c) {
    var owner = $('owner');
    owner.textContent = c.owner === 'human' ? 'a human agent' : 'the bot';
    owner.className = c.owner;
    owner.setAttribute('data-owner', c.owner);
    $('conv-id').textContent = c.conversationId;
  }

  // polls overlap (every 700 ms, slower under load): an answer for another customer, or one older than
  // what is on screen, must not be drawn (it would show the previous customer's lines for a moment)
  var pollsSent = 0;
  var pollDrawn = 0;
  function poll() {
    if (!customer()) return;
    var ch = channel();
    var cu = customer();
    var seq = ++pollsSent;
    api('GET', 'conversation?channel=' + encodeURIComponent(ch) + '&customer=' + encodeURIComponent(cu))
      .then(function (r) {
        if (ch !== channel() || cu !== customer() || seq < pollDrawn) return;
        pollDrawn = seq;
        state.conversation = r.body;
        renderOwner(r.body);
        renderChat(r.body.lines || []);
        renderPaths(r.body.lines || []);
        var idle = r.body.idleQueues || [];
        $('idle-note').textContent = idle.length
          ? 'No worker is consuming: ' + idle.join(', ') + '. Messages wait there until a worker with that role runs (WORKER_ROLES).'
          : '';
      })
      .catch(function (err) { $('send-status').textContent = err.message; });
  }

  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result).split(',')[1] || ''); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(file);
    });
  }

  function send(ev) {
    ev.preventDefault();
    var text = $('text').value;
    var file = $('file').files[0];
    if (!text.trim() && !file) return;
    var payload = { channel: channel(), customer: customer(), name: $('name').value.trim() || undefined, text: text || undefined };
    $('send').disabled = true;
    var ready = file ? readFile(file).then(function (data) { payload.file = { name: file.name, mimeType: file.type || 'application/octet-stream', dataBase64: data }; }) : Promise.resolve();
    ready
      .then(function () { return api('POST', 'messages', payload); })
      .then(function (r) {
        $('send-status').textContent = r.body.ok ? '' : 'The ingress answered ' + (r.body.ingressStatus || 'nothing (is it running?)');
        $('text').value = '';
        $('file').value = '';
        poll();
      })
      .catch(function (err) { $('send-status').textContent = err.message; })
      .then(function () { $('send').disabled = false; });
  }

  function conv(path, extra) {
    var body = { channel: channel(), customer: customer() };
    Object.keys(extra || {}).forEach(function (k) { body[k] = extra[k]; });
    return api('POST', path, body).then(poll).catch(function (err) { $('send-status').textContent = err.message; });
  }

  function switchChannel() {
    $('customer').value = storedCustomer(channel());
    if (state.info) renderInfo();
    poll();
  }

  $('send-form').addEventListener('submit', send);
  $('reply-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = $('reply-text').value;
    if (!text.trim()) return;
    conv('reply', { text: text }).then(function () { $('reply-text').value = ''; });
  });
  $('file').addEventListener('change', function () {
    var f = $('file').files[0];
    $('send-status').textContent = f ? 'Attached: ' + f.name + ' (' + Math.round(f.size / 1024) + ' KB)' : '';
  });
  $('takeover').addEventListener('click', function () { conv('takeover'); });
  $('handback').addEventListener('click', function () { conv('handback'); });
  $('channel').addEventListener('change', switchChannel);
  $('customer').addEventListener('change', function () { localStorage.setItem('sb.customer.' + channel(), customer()); poll(); });
  $('new-customer').addEventListener('click', function () {
    localStorage.setItem('sb.customer.' + channel(), randomCustomer(channel()));
    switchChannel();
  });

  api('GET', 'info').then(function (r) {
    state.info = r.body;
    var chs = r.body.channels;
    if (!chs.whatsapp.enabled) {
      var first = ['wechat-kf', 'telegram'].filter(function (c) { return chs[c] && chs[c].enabled; })[0];
      if (first) $('channel').value = first;
    }
    switchChannel();
    state.polling = setInterval(poll, 700);
  }).catch(function (err) { $('agent-note').textContent = 'Sandbox unavailable: ' + err.message; });
})();
