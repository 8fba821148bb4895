// The knowledge console: the knowledge routes of the API, served behind the admin's basic auth at
// /admin/knowledge/api. Every value from the server goes into the page as text, never as HTML.
'use strict';
(function () {
  var API = '/admin/knowledge/api';
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, opts, children) {
    var e = document.createElement(tag);
    if (opts) Object.keys(opts).forEach(function (k) { if (k === 'text') e.textContent = opts[k]; else e.setAttribute(k, opts[k]); });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }

  function say(message, isError) {
    var s = $('status');
    s.textContent = message;
    s.className = 'note' + (isError ? ' error' : '');
  }

  function call(method, path, body) {
    var init = { method: method, headers: { 'X-Switchboard-Console': '1' }, credentials: 'same-origin' };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
    return fetch(API + path, init).then(function (res) {
      if (res.status === 204) return null;
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Error((data && data.message) || ('HTTP ' + res.status));
        return data;
      });
    });
  }

  function account() {
    var a = $('account').value.trim();
    return a === '' ? undefined : a;
  }

  var PAGE = 25;
  var nextCursor;
  var docsSeq = 0;

  function renderDocs(items, append) {
    var tbody = $('docs');
    if (!append) tbody.textContent = '';
    if (items.length === 0 && !append) {
      tbody.appendChild(el('tr', null, [el('td', { colspan: '7', text: 'No documents yet.' })]));
      return;
    }
    items.forEach(function (d) {
      var del = el('button', { type: 'button', 'data-testid': 'delete', text: 'delete' });
      del.addEventListener('click', function () {
        if (!window.confirm('Delete "' + d.title + '" and its chunks?')) return;
        call('DELETE', '/documents/' + encodeURIComponent(d.id)).then(function () { say('Deleted "' + d.title + '".'); load(); }, function (e) { say(e.message, true); });
      });
      var status = el('td', { class: 'status-' + d.status, 'data-testid': 'doc-status', text: d.status }, d.error ? [el('div', { class: 'error-text', text: d.error })] : []);
      var source = d.url ? el('a', { href: d.url, rel: 'noopener noreferrer', target: '_blank', text: d.url }) : document.createTextNode(d.filename || d.source);
      tbody.appendChild(el('tr', { 'data-testid': 'doc', 'data-id': d.id }, [
        el('td', { 'data-testid': 'doc-title', text: d.title }),
        status,
        el('td', { 'data-testid': 'doc-chunks', text: String(d.chunks) }),
        el('td', { text: d.account || 'all' }),
        el('td', null, [source]),
        el('td', { text: new Date(d.createdAt).toLocaleString() }),
        el('td', null, [del]),
      ]));
    });
  }

  // one page of the list (`cursor` = the `next` of the page before); the first page replaces the table
  function loadPage(cursor) {
    var q = ['limit=' + PAGE];
    var a = account();
    if (a) q.push('account=' + encodeURIComponent(a));
    if ($('status-filter').value) q.push('status=' + encodeURIComponent($('status-filter').value));
    if (cursor) q.push('cursor=' + encodeURIComponent(cursor));
    var seq = ++docsSeq;
    return call('GET', '/documents?' + q.join('&')).then(function (data) {
      if (seq !== docsSeq) return;
      renderDocs(data.items, Boolean(cursor));
      nextCursor = data.next;
      $('more').hidden = !nextCursor;
      $('shown').textContent = $('docs').querySelectorAll('tr[data-id]').length + ' shown' + (nextCursor ? ', more to load' : '');
    }, function (e) { say(e.message, true); });
  }

  function load() { return loadPage(undefined); }

  function added(what) {
    return function (data) { say(what + ' added (' + data.id + '): the workers read it now; refresh to see its status.'); return load(); };
  }
  function failed(e) { say(e.message, true); }

  $('upload-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var f = $('file').files[0];
    if (!f) return;
    var form = new FormData();
    form.append('file', f, f.name);
    if (account()) form.append('account', account());
    say('Uploading ' + f.name + '…');
    call('POST', '/documents', form).then(added('"' + f.name + '"'), failed);
  });

  $('url-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { url: $('url').value.trim() };
    if ($('sitemap').checked) body.sitemap = true;
    if (account()) body.account = account();
    call('POST', '/documents', body).then(added(body.sitemap ? 'Sitemap' : 'Page'), failed);
  });

  // the unanswered question the text form is answering (set by "add an answer"): dismissed once the text is added
  var answering;

  $('text-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { title: $('text-title').value.trim(), text: $('text-body').value };
    if (account()) body.account = account();
    var answered = answering;
    call('POST', '/documents', body).then(function (data) {
      var done = added('"' + body.title + '"')(data);
      if (!answered) return done;
      setAnswering(undefined);
      $('text-title').value = '';
      $('text-body').value = '';
      return call('DELETE', '/unanswered/' + encodeURIComponent(answered.id)).catch(function () { return null; }).then(loadUnanswered);
    }, failed);
  });

  function setAnswering(q) {
    answering = q;
    var note = $('answering');
    note.hidden = !q;
    note.textContent = q ? 'Answering the question "' + q.question + '" (' + q.account + '): write the answer, then Add; the question leaves the list.' : '';
  }

  function renderUnanswered(items) {
    var tbody = $('unanswered');
    tbody.textContent = '';
    if (items.length === 0) {
      tbody.appendChild(el('tr', null, [el('td', { colspan: '5', 'data-testid': 'no-unanswered', text: 'No unanswered questions.' })]));
      return;
    }
    items.forEach(function (q) {
      var add = el('button', { type: 'button', 'data-testid': 'add-answer', text: 'add an answer' });
      add.addEventListener('click', function () {
        $('account').value = q.account;
        $('text-title').value = q.question;
        setAnswering(q);
        $('text-body').focus();
      });
      var dismiss = el('button', { type: 'button', 'data-testid': 'dismiss', text: 'dismiss' });
      dismiss.addEventListener('click', function () {
        call('DELETE', '/unanswered/' + encodeURIComponent(q.id)).then(function () { say('Dismissed "' + q.question + '".'); if (answering && answering.id === q.id) setAnswering(undefined); return loadUnanswered(); }, failed);
      });
      tbody.appendChild(el('tr', { 'data-testid': 'unanswered-question', 'data-id': q.id }, [
        el('td', { 'data-testid': 'question-text', text: q.question }),
        el('td', { 'data-testid': 'question-count', text: q.count === 1 ? 'once' : q.count + ' times' }),
        el('td', { text: new Date(q.lastAskedAt).toLocaleString() + (q.channel ? ' · ' + q.channel : '') }),
        el('td', { text: q.account }),
        el('td', { class: 'actions' }, [add, dismiss]),
      ]));
    });
  }

  var unansweredSeq = 0;
  function loadUnanswered() {
    var a = account();
    var seq = ++unansweredSeq;
    return call('GET', '/unanswered' + (a ? '?account=' + encodeURIComponent(a) : '')).then(function (data) {
      // an answer to an older request (another account) never overwrites a newer one
      if (seq === unansweredSeq) renderUnanswered(data.items);
    }, failed);
  }

  // the agent's answer: its text with the source list's Markdown links as links (http(s) only), the cited sources, and what happened
  function appendWithLinks(parent, text) {
    var re = /\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g;
    var last = 0;
    var m;
    while ((m = re.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      parent.appendChild(el('a', { href: m[2], rel: 'noopener noreferrer', target: '_blank', text: m[1] }));
      last = re.lastIndex;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  var SOURCES = {
    llm: 'answered by the model',
    local: 'answered without the model',
    faq: 'answered from the FAQ',
    cache: 'a cached answer',
    offline: 'the agent is offline (no OPENAI_API_KEY): its offline notice',
    fallback: 'the model failed: the apology',
    refusal: 'refused by moderation',
    rate_limited: 'rate limited',
  };

  function renderAnswer(data) {
    var box = $('answer');
    box.textContent = '';
    var reply = el('div', { class: 'reply', 'data-testid': 'answer-text' });
    if (data.reply) appendWithLinks(reply, data.reply.text); else reply.textContent = '(no answer)';
    box.appendChild(reply);
    var meta = [SOURCES[data.source] || data.source, 'account ' + data.account, 'as on ' + data.channel];
    if (data.model) meta.push(data.model);
    if (data.tools) meta.push('tools: ' + data.tools.join(', '));
    box.appendChild(el('p', { class: 'note', 'data-testid': 'answer-meta', text: meta.join(' · ') }));
    if (data.handoff) box.appendChild(el('p', { class: 'handoff', 'data-testid': 'answer-handoff', text: 'Handed to a person (' + data.handoff.reason + '): ' + data.handoff.summary }));
    if (data.citations.length) {
      box.appendChild(el('ol', { class: 'citations', 'data-testid': 'citations' }, data.citations.map(function (c) {
        var li = el('li', { value: String(c.n), 'data-testid': 'citation' });
        var label = c.title + (c.heading && c.heading !== c.title ? ' › ' + c.heading : '');
        li.appendChild(c.url ? el('a', { href: c.url, rel: 'noopener noreferrer', target: '_blank', text: label }) : document.createTextNode(label));
        return li;
      })));
    }
  }

  $('ask-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { query: $('question').value.trim(), k: 5 };
    if (account()) body.account = account();
    var list = $('hits');
    var box = $('answer');
    box.textContent = '';
    box.appendChild(el('p', { class: 'note', text: 'The agent is answering…' }));
    var preview = { question: body.query };
    if (body.account) preview.account = body.account;
    call('POST', '/preview', preview).then(renderAnswer, function (e) {
      box.textContent = '';
      box.appendChild(el('p', { class: 'note error', 'data-testid': 'answer-error', text: 'No answer: ' + e.message }));
    });
    call('POST', '/search', body).then(function (data) {
      list.textContent = '';
      $('mode').textContent = data.mode === 'hybrid' ? 'hybrid search (full text + embeddings)' : 'full-text search (no embeddings: OPENAI_API_KEY unset)';
      if (data.hits.length === 0) { list.appendChild(el('li', { 'data-testid': 'no-hits', text: 'Nothing found: the agent would say it does not know and offer a human.' })); return; }
      data.hits.forEach(function (h) {
        var meta = el('div', { class: 'meta' }, [
          el('span', { class: 'score', 'data-testid': 'hit-score', text: 'score ' + h.score.toFixed(4) + (typeof h.similarity === 'number' ? ' · similarity ' + h.similarity.toFixed(3) : '') }),
          document.createTextNode(' — ' + h.title + (h.heading ? ' › ' + h.heading : '') + (h.url ? ' (' + h.url + ')' : '')),
        ]);
        list.appendChild(el('li', { 'data-testid': 'hit' }, [meta, el('div', { class: 'text', 'data-testid': 'hit-text', text: h.text })]));
      });
    }, failed);
  });

  $('refresh').addEventListener('click', load);
  $('unanswered-refresh').addEventListener('click', loadUnanswered);
  $('account').addEventListener('change', loadUnanswered);
  $('status-filter').addEventListener('change', load);
  $('more').addEventListener('click', function () { if (nextCursor) loadPage(nextCursor); });
  $('account').addEventListener('change', load);
  load();
  loadUnanswered();
})();
