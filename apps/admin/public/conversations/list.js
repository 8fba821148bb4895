// The conversation list: filters and search kept in the page's address (shareable, survive a
// reload), pages through the API's opaque cursor. Dates are whole UTC days; "to" includes its day.
'use strict';
(function () {
  var C = window.SbConsole;
  var $ = function (id) { return document.getElementById(id); };
  var FIELDS = ['q', 'channel', 'account', 'owner', 'from', 'to'];
  var cursors = [undefined];
  var next;

  function nextDay(date) {
    var d = new Date(date + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  /** The API's query for the form's filters. */
  function filterQuery() {
    var p = new window.URLSearchParams();
    FIELDS.forEach(function (f) {
      var v = $(f).value.trim();
      if (v === '') return;
      p.set(f, f === 'to' ? nextDay(v) : v);
    });
    return p;
  }

  function syncAddress() {
    var p = new window.URLSearchParams();
    FIELDS.forEach(function (f) { var v = $(f).value.trim(); if (v !== '') p.set(f, v); });
    var s = p.toString();
    window.history.replaceState(null, '', window.location.pathname + (s ? '?' + s : ''));
    var ex = new window.URLSearchParams({ format: 'jsonl' });
    if ($('from').value) ex.set('from', $('from').value);
    if ($('to').value) ex.set('to', nextDay($('to').value));
    $('export').setAttribute('href', C.API + '/export?' + ex.toString());
  }

  function ownerBadge(owner) {
    return C.el('span', { class: 'badge owner-' + owner, 'data-testid': 'row-owner', text: owner });
  }

  function render(items) {
    var tbody = $('rows');
    tbody.textContent = '';
    if (items.length === 0) {
      tbody.appendChild(C.el('tr', null, [C.el('td', { colspan: '6', class: 'empty', 'data-testid': 'no-conversations', text: 'No conversation matches.' })]));
      return;
    }
    items.forEach(function (c) {
      var href = '/admin/conversations/' + encodeURIComponent(c.id);
      var who = C.el('a', { href: href, 'data-testid': 'row-link' }, [C.el('strong', { text: c.customer.name || c.customer.id })]);
      var cell = C.el('td', null, [who]);
      if (c.customer.name) cell.appendChild(C.el('div', { class: 'sub', text: c.customer.id }));
      tbody.appendChild(C.el('tr', { 'data-testid': 'conversation', 'data-id': c.id }, [
        cell,
        C.el('td', { 'data-testid': 'row-channel', text: c.channel }),
        C.el('td', { text: c.account }),
        C.el('td', { text: C.time(c.lastMessageAt) }),
        C.el('td', { class: 'num', 'data-testid': 'row-count', text: String(c.messageCount) }),
        C.el('td', null, [ownerBadge(c.owner)]),
      ]));
    });
  }

  function load() {
    var p = filterQuery();
    var cursor = cursors[cursors.length - 1];
    p.set('limit', '25');
    if (cursor) p.set('cursor', cursor);
    C.say('Loading…');
    return C.call('GET', '/conversations?' + p.toString()).then(function (data) {
      next = data.next;
      render(data.items);
      $('more').disabled = !next;
      $('first').disabled = cursors.length === 1;
      $('page-note').textContent = 'page ' + cursors.length + (next ? '' : ' (last)');
      C.say(data.items.length === 0 ? '' : data.items.length + ' conversation' + (data.items.length === 1 ? '' : 's') + ' on this page.');
    }, function (e) { C.say(e.message, true); });
  }

  function restart() {
    cursors = [undefined];
    syncAddress();
    return load();
  }

  C.call('GET', '/channels').then(function (data) {
    data.channels.forEach(function (ch) { $('channel').appendChild(C.el('option', { value: ch, text: ch })); });
  }).catch(function () { /* the filter keeps "all" */ }).then(function () {
    var start = new window.URLSearchParams(window.location.search);
    FIELDS.forEach(function (f) { if (start.get(f)) $(f).value = start.get(f); });
    restart();
  });

  $('filters').addEventListener('submit', function (ev) { ev.preventDefault(); restart(); });
  ['channel', 'owner', 'from', 'to'].forEach(function (f) { $(f).addEventListener('change', restart); });
  $('clear').addEventListener('click', function () { FIELDS.forEach(function (f) { $(f).value = ''; }); restart(); });
  $('more').addEventListener('click', function () { if (next) { cursors.push(next); load(); } });
  $('first').addEventListener('click', function () { cursors = [undefined]; load(); });
})();
