// Shared by the conversation console pages: the record routes served behind the admin's basic auth
// at /admin/conversations/api. Every value from the server goes into the page as text, never as HTML.
'use strict';
window.SbConsole = (function () {
  var API = '/admin/conversations/api';

  function el(tag, opts, children) {
    var e = document.createElement(tag);
    if (opts) Object.keys(opts).forEach(function (k) { if (k === 'text') e.textContent = opts[k]; else e.setAttribute(k, opts[k]); });
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  function say(message, isError) {
    var s = document.getElementById('status');
    s.textContent = message;
    s.className = 'note' + (isError ? ' error' : '');
  }

  function call(method, path, body) {
    var init = { method: method, headers: { 'X-Switchboard-Console': '1' }, credentials: 'same-origin' };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
    return fetch(API + path, init).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) { var e = new Error((data && data.message) || ('HTTP ' + res.status)); e.status = res.status; throw e; }
        return data;
      });
    });
  }

  function time(iso) {
    var d = new Date(iso);
    return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** A random id for one click, so a repeated submission is sent once. */
  function requestId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  return { API: API, el: el, say: say, call: call, time: time, requestId: requestId };
})();
