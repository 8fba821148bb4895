// The analytics console: GET /admin/analytics/api/analytics (the API's analytics route behind the
// admin's basic auth) drawn with Chart.js (served from node_modules). Every value from the server
// goes into the page as text, never as HTML.
'use strict';
(function () {
  var API = '/admin/analytics/api/analytics';
  var Chart = window.Chart;
  var $ = function (id) { return document.getElementById(id); };
  var PALETTE = ['#3b5bdb', '#12b76a', '#f79009', '#7a5af8', '#ee46bc', '#06aed4', '#f04438', '#84cc16'];
  var OUTCOME_COLORS = { answered: '#12b76a', faq: '#3b5bdb', cache: '#06aed4', apology: '#f79009', refused: '#f04438', silent: '#98a2b3', handoff: '#7a5af8' };
  var NO_MODEL = 'no model (FAQ, cache…)';
  var charts = {};
  var knownChannels = {};

  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
  Chart.defaults.color = '#475467';
  Chart.defaults.borderColor = '#eaecf0';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.position = 'bottom';
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.defaults.plugins.legend.labels.boxHeight = 12;

  // ---- formatting ----
  function int(n) { return Number(n || 0).toLocaleString('en-US'); }
  function pct(x) { return x === null || x === undefined ? '–' : (x * 100).toFixed(1) + '%'; }
  function usd(x) { return '$' + (x >= 1 ? x.toFixed(2) : x.toFixed(4)); }
  function dur(ms) {
    if (ms === null || ms === undefined) return '–';
    if (ms < 1000) return Math.round(ms) + ' ms';
    var one = function (x) { return x.toFixed(1).replace(/\.0$/, ''); };
    if (ms < 60000) return one(ms / 1000) + ' s';
    if (ms < 3600000) return one(ms / 60000) + ' min';
    return one(ms / 3600000) + ' h';
  }
  function dayLabel(day) { return new Date(day + 'T00:00:00Z').toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' }); }
  function todayUtc() { return new Date().toISOString().slice(0, 10); }
  function addDays(day, n) { return new Date(Date.parse(day + 'T00:00:00Z') + n * 86400000).toISOString().slice(0, 10); }
  function light(hex) { return hex + '66'; }
  function sum(list, f) { return list.reduce(function (a, x) { return a + (f(x) || 0); }, 0); }

  function say(message, isError) {
    var s = $('status');
    s.textContent = message;
    s.className = 'note' + (isError ? ' error' : '');
  }

  // ---- the range in the address bar (a link shows the same figures) ----
  function readForm() {
    var p = new window.URLSearchParams();
    p.set('from', $('from').value);
    p.set('to', $('to').value);
    if ($('channel').value) p.set('channel', $('channel').value);
    var account = $('account').value.trim();
    if (account) p.set('account', account);
    return p;
  }
  function fillForm(p) {
    var to = p.get('to') || todayUtc();
    $('to').value = to;
    $('from').value = p.get('from') || addDays(to, -29);
    var ch = p.get('channel') || '';
    if (ch) addChannelOption(ch);
    $('channel').value = ch;
    $('account').value = p.get('account') || '';
  }
  function addChannelOption(ch) {
    if (knownChannels[ch]) return;
    knownChannels[ch] = true;
    var opt = document.createElement('option');
    opt.value = ch;
    opt.textContent = ch;
    $('channel').appendChild(opt);
  }

  // ---- charts ----
  function colorOf(list, key) { var i = list.indexOf(key); return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]; }

  function draw(id, config, empty) {
    if (charts[id]) { charts[id].destroy(); delete charts[id]; }
    var canvas = $(id);
    var box = canvas.parentNode;
    var note = box.querySelector('.empty');
    if (empty) {
      canvas.hidden = true;
      if (!note) { note = document.createElement('div'); note.className = 'empty'; box.appendChild(note); }
      note.textContent = 'No data in this range';
      note.hidden = false;
      return;
    }
    canvas.hidden = false;
    if (note) note.hidden = true;
    charts[id] = new Chart(canvas, config);
  }

  function stackedScales(yTitle, yTicks) {
    return {
      x: { stacked: true, grid: { display: false } },
      y: { stacked: true, beginAtZero: true, title: { display: Boolean(yTitle), text: yTitle }, ticks: yTicks || { precision: 0 } },
    };
  }

  // a log axis of durations with ticks people read (1 s, 5 s, 1 min…), bounded by the nearest such ticks
  var NICE_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 3e4, 6e4, 12e4, 3e5, 6e5, 18e5, 36e5, 72e5, 216e5, 432e5, 864e5, 1728e5, 6048e5];
  function durationAxis(days) {
    var values = [];
    days.forEach(function (d) { [d.firstResponseMs.p50, d.firstResponseMs.p95].forEach(function (v) { if (v !== null && v > 0) values.push(v); }); });
    var lo = Math.min.apply(null, values.length ? values : [1000]);
    var hi = Math.max.apply(null, values.length ? values : [1000]);
    var min = NICE_MS.filter(function (v) { return v <= lo; }).pop() || NICE_MS[0];
    var max = NICE_MS.filter(function (v) { return v >= hi; })[0] || NICE_MS[NICE_MS.length - 1];
    if (max === min) max = NICE_MS[NICE_MS.indexOf(min) + 1] || min * 2;
    return {
      type: 'logarithmic', min: min, max: max,
      afterBuildTicks: function (axis) { axis.ticks = NICE_MS.filter(function (v) { return v >= min && v <= max; }).map(function (v) { return { value: v }; }); },
      ticks: { autoSkip: false, callback: function (v) { return dur(v); } },
    };
  }

  function render(data) {
    var days = data.days;
    var labels = days.map(function (d) { return dayLabel(d.day); });
    var channels = Object.keys(data.byChannel).sort();
    channels.forEach(addChannelOption);
    var allChannels = Object.keys(knownChannels).sort();
    var tooltipIndex = { mode: 'index', intersect: false };

    // KPIs
    $('range-label').textContent = data.from.slice(0, 10) + ' – ' + addDays(data.to.slice(0, 10), data.to.slice(11, 23) === '00:00:00.000' ? -1 : 0) + ' (UTC)';
    $('kpi-conversations').textContent = int(data.totals.conversations);
    $('kpi-conversations-sub').textContent = int(data.resolution.engaged) + ' with a customer message';
    $('kpi-messages').textContent = int(data.totals.messagesIn) + ' / ' + int(data.totals.messagesOut);
    $('kpi-containment').textContent = pct(data.containmentRate);
    $('kpi-containment-sub').textContent = int(data.resolution.contained) + ' of ' + int(data.resolution.engaged) + ' without a human';
    $('kpi-handoff').textContent = pct(data.handoffRate);
    $('kpi-handoff-sub').textContent = int(data.resolution.handedOff) + ' handed to a human';
    $('kpi-frt').textContent = dur(data.firstResponseMs.p50);
    $('kpi-frt-p95').textContent = dur(data.firstResponseMs.p95);
    $('kpi-frt-sub').textContent = int(data.firstResponse.answered) + ' answered, ' + int(data.firstResponse.unanswered) + ' unanswered';
    $('kpi-cost').textContent = usd(data.llm.costUsd);
    $('kpi-tokens').textContent = int(data.llm.tokensIn) + ' tokens in · ' + int(data.llm.tokensOut) + ' out';
    $('kpi-failed').textContent = int(data.failedDeliveries.total);

    // conversations per channel and day
    draw('chart-conversations', {
      type: 'bar',
      data: { labels: labels, datasets: channels.map(function (ch) {
        return { label: ch, backgroundColor: colorOf(allChannels, ch), data: days.map(function (d) { return d.byChannel[ch] ? d.byChannel[ch].conversations : 0; }) };
      }) },
      options: { scales: stackedScales('conversations'), interaction: tooltipIndex },
    }, data.totals.conversations === 0);

    // messages per channel and day: in and out side by side, stacked by channel
    var msgSets = [];
    channels.forEach(function (ch) {
      var c = colorOf(allChannels, ch);
      msgSets.push({ label: ch + ' in', stack: 'in', backgroundColor: c, data: days.map(function (d) { return d.byChannel[ch] ? d.byChannel[ch].messagesIn : 0; }) });
      msgSets.push({ label: ch + ' out', stack: 'out', backgroundColor: light(c), borderColor: c, borderWidth: 1, data: days.map(function (d) { return d.byChannel[ch] ? d.byChannel[ch].messagesOut : 0; }) });
    });
    draw('chart-messages', { type: 'bar', data: { labels: labels, datasets: msgSets }, options: { scales: stackedScales('messages'), interaction: tooltipIndex } }, data.totals.messagesIn + data.totals.messagesOut === 0);

    // containment and handoff rate per day
    var rate = function (x) { return x === null ? null : Math.round(x * 1000) / 10; };
    draw('chart-rates', {
      type: 'line',
      data: { labels: labels, datasets: [
        { label: 'containment (range ' + pct(data.containmentRate) + ')', data: days.map(function (d) { return rate(d.containmentRate); }), borderColor: '#12b76a', backgroundColor: 'rgba(18,183,106,.12)', fill: true, tension: .25, spanGaps: true, pointRadius: 3 },
        { label: 'handoff (range ' + pct(data.handoffRate) + ')', data: days.map(function (d) { return rate(d.handoffRate); }), borderColor: '#f79009', backgroundColor: '#f79009', tension: .25, spanGaps: true, pointRadius: 3 },
      ] },
      options: { interaction: tooltipIndex, scales: { x: { grid: { display: false } }, y: { min: 0, max: 100, ticks: { callback: function (v) { return v + '%'; } } } }, plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label.split(' (')[0] + ': ' + (ctx.parsed.y === null ? '–' : ctx.parsed.y + '%') + ' of ' + int(days[ctx.dataIndex].engaged); } } } } },
    }, data.resolution.engaged === 0);

    // handoff reasons
    draw('chart-reasons', {
      type: 'bar',
      data: { labels: data.handoffReasons.map(function (r) { return r.reason; }), datasets: [{ label: 'handoffs', backgroundColor: '#f79009', data: data.handoffReasons.map(function (r) { return r.events; }) }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } } },
    }, data.handoffReasons.length === 0);

    // first-response time per day (log scale: seconds next to hours)
    draw('chart-frt', {
      type: 'line',
      data: { labels: labels, datasets: [
        { label: 'p50 (range ' + dur(data.firstResponseMs.p50) + ')', data: days.map(function (d) { return d.firstResponseMs.p50; }), borderColor: '#3b5bdb', backgroundColor: '#3b5bdb', tension: .25, spanGaps: true, pointRadius: 3 },
        { label: 'p95 (range ' + dur(data.firstResponseMs.p95) + ')', data: days.map(function (d) { return d.firstResponseMs.p95; }), borderColor: '#7a5af8', backgroundColor: '#7a5af8', borderDash: [6, 4], tension: .25, spanGaps: true, pointRadius: 3 },
      ] },
      options: { interaction: tooltipIndex, scales: { x: { grid: { display: false } }, y: durationAxis(days) }, plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label.split(' (')[0] + ': ' + dur(ctx.parsed.y); } } } } },
    }, data.firstResponse.answered === 0);

    // failed deliveries by error code, stacked by channel
    var codes = data.failedDeliveries.byCode;
    var failChannels = [];
    codes.forEach(function (f) { Object.keys(f.byChannel).forEach(function (ch) { if (failChannels.indexOf(ch) < 0) failChannels.push(ch); addChannelOption(ch); }); });
    failChannels.sort();
    var codeLabel = function (f) { var t = (f.code === null ? 'no code' : String(f.code)) + (f.title ? ' · ' + f.title : ''); return t.length > 48 ? t.slice(0, 47) + '…' : t; };
    draw('chart-failures', {
      type: 'bar',
      data: { labels: codes.map(codeLabel), datasets: failChannels.map(function (ch) {
        return { label: ch, backgroundColor: colorOf(Object.keys(knownChannels).sort(), ch), data: codes.map(function (f) { return f.byChannel[ch] || 0; }) };
      }) },
      options: { indexAxis: 'y', interaction: { mode: 'index', intersect: false, axis: 'y' }, scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true, grid: { display: false } } } },
    }, codes.length === 0);

    // LLM cost and tokens per day and model
    var models = data.llmByModel.filter(function (m) { return m.model !== null || m.tokensIn + m.tokensOut > 0; }).map(function (m) { return m.model; });
    var modelKeys = models.map(function (m) { return m === null ? NO_MODEL : m; });
    var perDay = function (d, model, field) {
      for (var i = 0; i < d.llm.byModel.length; i++) if (d.llm.byModel[i].model === model) return d.llm.byModel[i][field];
      return 0;
    };
    draw('chart-cost', {
      type: 'bar',
      data: { labels: labels, datasets: models.map(function (m, i) {
        return { label: modelKeys[i], backgroundColor: colorOf(modelKeys, modelKeys[i]), data: days.map(function (d) { return perDay(d, m, 'costUsd'); }) };
      }) },
      options: { interaction: tooltipIndex, scales: stackedScales('USD', { callback: function (v) { return usd(v); } }), plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + usd(ctx.parsed.y); } } } } },
    }, data.llm.costUsd === 0 && data.llm.tokensIn + data.llm.tokensOut === 0);

    var tokenSets = [];
    models.forEach(function (m, i) {
      var c = colorOf(modelKeys, modelKeys[i]);
      tokenSets.push({ label: modelKeys[i] + ' in', stack: 'in', backgroundColor: c, data: days.map(function (d) { return perDay(d, m, 'tokensIn'); }) });
      tokenSets.push({ label: modelKeys[i] + ' out', stack: 'out', backgroundColor: light(c), borderColor: c, borderWidth: 1, data: days.map(function (d) { return perDay(d, m, 'tokensOut'); }) });
    });
    draw('chart-tokens', { type: 'bar', data: { labels: labels, datasets: tokenSets }, options: { interaction: tooltipIndex, scales: stackedScales('tokens', { callback: function (v) { return int(v); } }) } }, data.llm.tokensIn + data.llm.tokensOut === 0);

    var withModel = data.llmByModel.filter(function (m) { return m.model !== null; });
    draw('chart-models', {
      type: 'bar',
      data: { labels: withModel.map(function (m) { return m.model; }), datasets: [
        { label: 'tokens in', backgroundColor: '#3b5bdb', data: withModel.map(function (m) { return m.tokensIn; }), yAxisID: 'y' },
        { label: 'tokens out', backgroundColor: light('#3b5bdb'), borderColor: '#3b5bdb', borderWidth: 1, data: withModel.map(function (m) { return m.tokensOut; }), yAxisID: 'y' },
        { label: 'cost (USD)', backgroundColor: '#f79009', data: withModel.map(function (m) { return m.costUsd; }), yAxisID: 'cost' },
      ] },
      options: { interaction: tooltipIndex, scales: { x: { grid: { display: false } }, y: { beginAtZero: true, title: { display: true, text: 'tokens' }, ticks: { callback: function (v) { return int(v); } } }, cost: { position: 'right', beginAtZero: true, grid: { display: false }, title: { display: true, text: 'USD' }, ticks: { callback: function (v) { return usd(v); } } } } },
    }, withModel.length === 0);

    // turn outcomes
    var outcomes = Object.keys(data.turns.byOutcome);
    draw('chart-outcomes', {
      type: 'doughnut',
      data: { labels: outcomes.map(function (o) { return o + ' (' + int(data.turns.byOutcome[o]) + ')'; }), datasets: [{ data: outcomes.map(function (o) { return data.turns.byOutcome[o]; }), backgroundColor: outcomes.map(function (o, i) { return OUTCOME_COLORS[o] || PALETTE[i % PALETTE.length]; }), borderWidth: 2 }] },
      options: { cutout: '55%', plugins: { legend: { position: 'right' } } },
    }, data.turns.total === 0);

    say(int(data.totals.conversations) + ' conversations, ' + int(sum(days, function (d) { return d.messagesIn + d.messagesOut; })) + ' messages, ' + int(data.turns.total) + ' bot turns in the range' + (data.channel ? ' on ' + data.channel : '') + (data.account ? ' for account ' + data.account : '') + '.');
  }

  function load(push) {
    var p = readForm();
    if (push) window.history.replaceState(null, '', '/admin/analytics?' + p.toString());
    document.body.setAttribute('data-state', 'loading');
    say('Loading…');
    return fetch(API + '?' + p.toString(), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          if (!res.ok) throw new Error((data && data.message) || ('HTTP ' + res.status));
          return data;
        });
      })
      .then(function (data) { render(data); document.body.setAttribute('data-state', 'ready'); })
      .catch(function (e) { say(e.message, true); document.body.setAttribute('data-state', 'error'); });
  }

  $('range-form').addEventListener('submit', function (ev) { ev.preventDefault(); load(true); });
  Array.prototype.forEach.call(document.querySelectorAll('.presets button'), function (b) {
    b.addEventListener('click', function () {
      var to = $('to').value || todayUtc();
      $('from').value = addDays(to, 1 - Number(b.getAttribute('data-days')));
      load(true);
    });
  });
  fillForm(new window.URLSearchParams(location.search));
  load(false);
})();
