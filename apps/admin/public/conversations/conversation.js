// One conversation's timeline (messages with their delivery status, ownership changes, bot turns
// with model, latency, tokens, cost, tools and sources) and the person's actions on it. Actions go
// through the pipeline (a signal on the inbound queue, a reply in the conversation's order), so the
// owner shown changes once a worker has handled them: the page polls it for a while.
'use strict';
(function () {
  var C = window.SbConsole;
  var el = C.el;
  var $ = function (id) { return document.getElementById(id); };
  var id = decodeURIComponent(window.location.pathname.split('/').filter(Boolean).pop() || '');
  var path = '/conversations/' + encodeURIComponent(id);
  var AUTHOR = { customer: 'Customer', bot: 'Bot', human: 'Person' };
  var HANDOFF = ['handoff', 'human_took_over', 'takeover'];
  var RESUME = ['resume', 'bot_resumed', 'handback', 'session_ended'];
  var currentOwner;
  var pollTimer;

  function size(bytes) {
    if (typeof bytes !== 'number') return '';
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + ' MB' : bytes >= 1024 ? Math.round(bytes / 1024) + ' KB' : bytes + ' B';
  }

  function statusChip(m) {
    if (!m.status) return m.direction === 'out' ? el('span', { class: 'chip', 'data-testid': 'msg-status', text: 'no status yet' }) : null;
    var label = m.status;
    if (m.error) label += ' · error ' + (m.error.code !== undefined ? m.error.code : '') + (m.error.title ? ' ' + m.error.title : '');
    return el('span', { class: 'chip status-' + m.status, 'data-testid': 'msg-status', text: label });
  }

  function messageItem(m) {
    var meta = el('div', { class: 'meta' }, [
      el('span', { class: 'author', 'data-testid': 'msg-author', text: AUTHOR[m.author] || m.author }),
      m.origin && m.origin !== 'agent' && m.origin !== 'human' ? el('span', { class: 'origin', text: m.origin }) : '',
      el('time', { datetime: m.at, text: C.time(m.at) }),
    ]);
    var chip = statusChip(m);
    if (chip) meta.appendChild(chip);
    var body = [meta];
    if (m.text) body.push(el('div', { class: 'text', 'data-testid': 'msg-text', text: m.text }));
    if (m.mediaText) body.push(el('blockquote', { class: 'media-text', 'data-testid': 'msg-media-text', text: m.mediaText }));
    if (m.media) body.push(el('div', { class: 'media', text: '[' + [m.media.kind, m.media.mimeType, m.media.filename, size(m.media.sizeBytes)].filter(Boolean).join(' · ') + ']' }));
    if (!m.text && !m.media) body.push(el('div', { class: 'media', text: '[' + m.contentType + ']' }));
    return el('li', { class: 'msg ' + m.direction + ' author-' + m.author, 'data-testid': 'message', 'data-direction': m.direction }, [el('div', { class: 'bubble' }, body)]);
  }

  function eventItem(e) {
    var text = HANDOFF.indexOf(e.kind) >= 0 ? 'Handed to a person' : RESUME.indexOf(e.kind) >= 0 ? 'Back to the bot' : e.kind.replace(/_/g, ' ');
    if (e.reason) text += ': ' + e.reason;
    return el('li', { class: 'event', 'data-testid': 'event' }, [el('span', { text: text }), el('time', { datetime: e.at, text: C.time(e.at) })]);
  }

  function turnItem(t) {
    var facts = [
      el('span', { class: 'outcome outcome-' + t.outcome, 'data-testid': 'turn-outcome', text: t.outcome }),
      el('span', { 'data-testid': 'turn-model', text: (t.model || 'no model') + (t.variant ? ' (variant ' + t.variant + ')' : '') }),
      el('span', { 'data-testid': 'turn-latency', text: typeof t.latencyMs === 'number' ? (t.latencyMs / 1000).toFixed(2) + ' s' : 'latency n/a' }),
      el('span', { 'data-testid': 'turn-tokens', text: t.tokensIn + ' → ' + t.tokensOut + ' tokens' }),
      el('span', { 'data-testid': 'turn-cost', text: '$' + t.costUsd.toFixed(6) }),
    ];
    var rows = [el('div', { class: 'meta' }, [el('span', { class: 'author', text: 'Bot turn' }), el('time', { datetime: t.at, text: C.time(t.at) })]), el('div', { class: 'facts-line' }, facts)];
    if (t.tools.length) rows.push(el('div', { class: 'sub', 'data-testid': 'turn-tools' }, ['tools: ' + t.tools.join(', ')]));
    if (t.sources.length) {
      var list = el('div', { class: 'sub', 'data-testid': 'turn-sources' }, ['sources: ']);
      t.sources.forEach(function (s, i) {
        if (i > 0) list.appendChild(document.createTextNode(', '));
        list.appendChild(s.url ? el('a', { href: s.url, rel: 'noopener noreferrer', target: '_blank', text: s.title }) : el('span', { text: s.title }));
      });
      rows.push(list);
    }
    return el('li', { class: 'turn', 'data-testid': 'turn' }, rows);
  }

  function renderTimeline(c) {
    var entries = [];
    var order = { event: 0, turn: 1, message: 2 };
    c.events.forEach(function (e) { entries.push({ at: e.at, kind: 'event', node: eventItem(e) }); });
    c.turns.forEach(function (t) { entries.push({ at: t.at, kind: 'turn', node: turnItem(t) }); });
    c.messages.forEach(function (m) { entries.push({ at: m.at, kind: 'message', node: messageItem(m) }); });
    entries.sort(function (a, b) { return a.at < b.at ? -1 : a.at > b.at ? 1 : order[a.kind] - order[b.kind]; });
    var list = $('timeline');
    list.textContent = '';
    if (entries.length === 0) list.appendChild(el('li', { class: 'event', text: 'Nothing recorded yet.' }));
    entries.forEach(function (e) { list.appendChild(e.node); });
  }

  function renderFacts(c) {
    var cost = c.turns.reduce(function (s, t) { return s + t.costUsd; }, 0);
    var tokens = c.turns.reduce(function (s, t) { return s + t.tokensIn + t.tokensOut; }, 0);
    var pairs = [
      ['customer', c.customer.name ? c.customer.name + ' (' + c.customer.id + ')' : c.customer.id],
      ['channel', c.channel],
      ['account', c.account],
      ['messages', String(c.messageCount)],
      ['first message', C.time(c.firstMessageAt)],
      ['last message', C.time(c.lastMessageAt)],
      ['bot turns', c.turns.length + (c.turns.length ? ' · ' + tokens + ' tokens · $' + cost.toFixed(6) : '')],
      ['a person took part', c.hadHuman ? 'yes' : 'no'],
    ];
    if (c.handoffReason) pairs.push(['handoff reason', c.handoffReason]);
    var dl = $('facts');
    dl.textContent = '';
    pairs.forEach(function (p) { dl.appendChild(el('dt', { text: p[0] })); dl.appendChild(el('dd', { 'data-testid': 'fact-' + p[0].replace(/ /g, '-'), text: p[1] })); });
    $('who').textContent = (c.customer.name || c.customer.id) + ' · ' + c.channel + (c.account !== 'default' ? ' / ' + c.account : '');
    document.title = 'Conversation with ' + (c.customer.name || c.customer.id);
  }

  function showOwner(o) {
    currentOwner = o.owner;
    var b = $('owner');
    b.textContent = o.owner === 'human' ? 'a person owns it' + (o.reason ? ' (' + o.reason + ')' : '') + (o.until ? ' until ' + new Date(o.until).toLocaleString() : '') : 'the bot answers';
    b.className = 'badge owner-' + o.owner;
    $('takeover').disabled = o.owner === 'human';
    $('handback').disabled = o.owner === 'bot';
  }

  function loadOwner() {
    return C.call('GET', path + '/owner').then(showOwner);
  }

  /** The opt-out badge: shown while the customer is opted out of business-initiated messages. */
  function loadOptOut() {
    return C.call('GET', path + '/opt-out').then(function (o) {
      $('optout').textContent = o.optedOut ? 'opted out' + (o.source === 'provider' ? ' (in WhatsApp)' : '') + (o.since ? ' since ' + o.since.slice(0, 10) : '') : '';
    }, function () { $('optout').textContent = ''; });
  }

  function load() {
    return Promise.all([C.call('GET', path), loadOwner(), loadOptOut()]).then(function (r) {
      renderTimeline(r[0]);
      renderFacts(r[0]);
    }, function (e) {
      C.say(e.status === 404 ? 'No such conversation (never recorded, or erased).' : e.message, true);
    });
  }

  /** Polls the owner until it is `want` (the worker handled the signal), for up to 15 s. */
  function waitForOwner(want, done) {
    clearInterval(pollTimer);
    var tries = 0;
    pollTimer = setInterval(function () {
      tries++;
      loadOwner().then(function () {
        if (currentOwner === want) { clearInterval(pollTimer); C.say(done); load(); }
        else if (tries >= 15) { clearInterval(pollTimer); C.say('Requested; no worker has handled it yet (is the inbound role running?).', true); }
      }, function () { /* try again on the next tick */ });
    }, 1000);
  }

  function act(button, action, body, pending, want, done) {
    button.disabled = true;
    body.requestId = C.requestId();
    C.say(pending);
    return C.call('POST', path + '/' + action, body).then(function () { waitForOwner(want, done); return true; }, function (e) { C.say(e.message, true); button.disabled = false; return false; });
  }

  $('takeover').addEventListener('click', function () {
    var minutes = Number($('takeover-minutes').value);
    var body = minutes > 0 ? { minutes: minutes } : {};
    act($('takeover'), 'takeover', body, 'Taking over…', 'human', minutes > 0 ? 'You own the conversation: the bot stays quiet for ' + minutes + ' minutes without activity, then answers again.' : 'You own the conversation: the bot stays quiet until you hand back.');
  });
  $('handback').addEventListener('click', function () {
    act($('handback'), 'handback', {}, 'Handing back…', 'bot', 'Handed back: the bot answers the next message.');
  });
  $('reply-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = $('reply').value.trim();
    if (!text) return;
    var send = $('reply-form').querySelector('button');
    act(send, 'reply', { text: text }, 'Sending…', 'human', 'Reply queued for the customer; you own the conversation.').then(function (ok) {
      send.disabled = false;
      if (ok) $('reply').value = '';
    });
  });
  $('refresh').addEventListener('click', load);
  load();
})();
