// Child process of `pnpm soak` / `pnpm bench:scaling`: the fake providers from the built testkit —
// Graph (WhatsApp), WeCom (微信客服), Chatwoot and OpenAI — each provider behind a small chaos front,
// plus a control endpoint. Prints its URLs as one JSON line. Loopback only.
//
// Chaos fronts (time-based modes, until switched off; only message sends are affected):
// - POST /chaos/graph {mode}: `429` (Graph code 130429, account throughput), `5xx` (503), `timeout`
//   (the request hangs past the client's 15 s timeout and the socket is closed; the send is NOT
//   performed, like a lost request), `lost-response` (the send IS performed — recorded, its status
//   webhooks go out — but the HTTP response is never delivered: the socket is destroyed, so the
//   gateway cannot know whether it was sent), `off`.
// - POST /chaos/wecom {mode}: on `kf/send_msg`: `busy` (errcode -1 system busy), `5xx` (HTTP 503),
//   `42001` (armed once: the next send_msg expires every access token issued so far, so that
//   send_msg and any other call still using the old token answer 42001 until the gateway refreshes
//   it; then the mode is off again), `off`.
// - POST /chaos/chatwoot {mode}: on message posts: `429` (Retry-After: 2), `5xx` (500), `off`.
// - POST /chaos/llm {delayMs} (slow model), {fail, status} (the next `fail` requests answer status).
//
// WhatsApp statuses: when SOAK_WA_INGRESS_URL and SOAK_WA_APP_SECRET are set, every send Graph
// accepted is reported like Meta does (testkit's whatsappStatusDelivery): a signed `statuses`
// webhook `sent` 50–300 ms later, then `delivered` 100–700 ms after that, each echoing
// `biz_opaque_callback_data`, each retried on anything but 200 (backoff 250 ms → 5 s, at most 10 min).
//
// The fake model echoes the customer's probe tokens (`#c<conv>:<k>`) of the current turn, in the
// order they appear, so the soak can check loss, duplicates and order from the replies alone.
//
// Control:
// - POST /wecom/messages {items: [{kfid, user, content, msgid}]}: appends customer messages to the
//   fake's sync_msg stream; answers {token} (a fresh callback Token for the kf_msg_or_event callback).
// - POST /chatwoot/conversations {items: [{id, inboxId, contactId}]}: seeds pending conversations.
// - GET /replies?from=i: every reply a customer received since index i, all channels, in the order
//   the fakes accepted them: {ch: whatsapp|wechat|chatwoot, to, text, at}. `to` is the phone number
//   (WhatsApp), `<open_kfid>|<external_userid>` (WeChat) or the conversation id (Chatwoot).
// - GET /sends?from=i: replies received by Graph since index i ({to, text, at}) (bench-scaling).
// - GET /stats: chaos fronts' counters, status webhooks, WeCom raw re-sends and token errors.
// - GET /llm, /llm/reset: in-flight statistics of the fake model (current, max, calls).
import http from 'node:http';
import { FakeWecom, startFakeChatwoot, startFakeGraph, startFakeOpenAI, WECHAT_TEST_CONFIG, whatsappStatusDelivery } from '@switchboard/testkit';
import { metaSignature, postOnce } from './lib/soak-payloads.mjs';

const baseDelay = Number(process.env.SOAK_LLM_DELAY_MS ?? 0);
const WA_INGRESS = process.env.SOAK_WA_INGRESS_URL;
const WA_SECRET = process.env.SOAK_WA_APP_SECRET;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const [graph, wecom, chatwoot] = await Promise.all([startFakeGraph({ onSent: (msg) => reportStatuses(msg) }), FakeWecom.start({ corpId: WECHAT_TEST_CONFIG.corpId }), startFakeChatwoot()]);

// ---------------------------------------------------------------- fake model
let llmDelay = baseDelay;
let inFlight = 0;
let maxInFlight = 0;
let llmCalls = 0;
function textOf(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('');
  return '';
}
const openai = await startFakeOpenAI({
  reply: async (req) => {
    inFlight += 1;
    llmCalls += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (llmDelay > 0) await sleep(llmDelay);
      const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
      const tokens = textOf(lastUser?.content).match(/#c\d+:\d+/g) ?? [];
      return tokens.length ? `ack ${tokens.join(' ')}` : 'ack (no probe)';
    } finally {
      inFlight -= 1;
    }
  },
});

// ---------------------------------------------------------------- what customers received
/** Every reply, all channels, in acceptance order: {ch, to, text, at}. */
const replies = [];
/** Graph sends only (bench-scaling reads these through /sends). */
const graphSends = [];
const hookPush = (arr, fn) => {
  const orig = arr.push.bind(arr);
  arr.push = (...items) => {
    for (const m of items) fn(m);
    return orig(...items);
  };
};
hookPush(graph.sent, (m) => {
  const b = m.body ?? {};
  const r = { ch: 'whatsapp', to: String(m.to ?? m.recipient ?? '').replace(/^\+/, ''), text: b.text?.body ?? b.interactive?.body?.text ?? `[${m.type}]`, at: Date.now() };
  replies.push(r);
  graphSends.push({ to: m.to ?? m.recipient, text: r.text, at: r.at });
});
hookPush(wecom.sent, (m) => {
  replies.push({ ch: 'wechat', to: `${m.open_kfid}|${m.touser}`, text: m.body?.text?.content ?? `[${m.msgtype}]`, at: Date.now(), msgid: m.msgid });
});
hookPush(chatwoot.messages, (m) => {
  // the bot's public replies; private notes (handoffs) and anything posted with the user token are not replies
  if (m.token === 'bot' && m.message_type === 1 && !m.private) replies.push({ ch: 'chatwoot', to: String(m.conversationId), text: m.content ?? '', at: Date.now() });
});

// WeCom: count raw send_msg requests whose msgid had already been accepted (the fake dedupes them,
// as the real API is expected to; the behaviour is undocumented), and token errors per API
const acceptedMsgids = new Set();
let wecomCustomerMessages = 0;
const wecomStats = { sendMsgRequests: 0, resentMsgids: 0, resentSamples: [], errcodes: {}, sync: {} };
function digestWecomCalls() {
  for (const call of wecom.calls) {
    if (call.errcode !== 0 || call.httpStatus !== 200) {
      const k = `${call.api} ${call.httpStatus === 200 ? call.errcode : `http ${call.httpStatus}`}`;
      wecomStats.errcodes[k] = (wecomStats.errcodes[k] ?? 0) + 1;
    }
    if (call.api === 'kf/sync_msg') {
      // per account: pulls answered, and the last one (diagnostics of a stalled sync)
      const kf = String(/** @type {any} */ (call.body)?.open_kfid ?? '_all');
      const st = (wecomStats.sync[kf] ??= { pulls: 0, ok: 0, lastAt: 0, lastCursor: '' });
      st.pulls += 1;
      if (call.errcode === 0) st.ok += 1;
      st.lastAt = call.at;
      st.lastCursor = String(/** @type {any} */ (call.body)?.cursor ?? '');
    }
    if (call.api !== 'kf/send_msg') continue;
    wecomStats.sendMsgRequests += 1;
    const msgid = /** @type {any} */ (call.body)?.msgid;
    if (call.errcode !== 0 || call.httpStatus !== 200 || typeof msgid !== 'string') continue;
    if (acceptedMsgids.has(msgid)) {
      wecomStats.resentMsgids += 1;
      if (wecomStats.resentSamples.length < 10) wecomStats.resentSamples.push(`${msgid}→${/** @type {any} */ (call.body)?.touser}@${call.at}`);
    } else acceptedMsgids.add(msgid);
  }
  wecom.calls.length = 0;
}
// the soak only needs what was sent; drop the request logs so memory stays flat
const trimTimer = setInterval(() => {
  digestWecomCalls();
  graph.requests.length = 0;
  chatwoot.requests.length = 0;
  openai.requests.length = 0;
  openai.calls.length = 0;
}, 1000);
trimTimer.unref();

// ---------------------------------------------------------------- WhatsApp status webhooks
const statusStats = { scheduled: 0, delivered: 0, attempts: 0, retried: 0, gaveUp: 0, pending: 0, byHttpStatus: {} };
const statusAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
async function postStatus(msg, status) {
  statusStats.pending += 1;
  try {
    const body = Buffer.from(JSON.stringify(whatsappStatusDelivery(msg, status)));
    const headers = { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(body, WA_SECRET) };
    const end = Date.now() + 10 * 60_000;
    let wait = 250;
    for (let attempt = 0; Date.now() < end; attempt++) {
      const s = await postOnce(WA_INGRESS, body, headers, { agent: statusAgent });
      statusStats.attempts += 1;
      statusStats.byHttpStatus[s] = (statusStats.byHttpStatus[s] ?? 0) + 1;
      if (s === 200) {
        statusStats.delivered += 1;
        return;
      }
      if (attempt === 0) statusStats.retried += 1;
      await sleep(wait);
      wait = Math.min(wait * 2, 5000);
    }
    statusStats.gaveUp += 1;
  } finally {
    statusStats.pending -= 1;
  }
}
/** Every send the fake Graph accepted (whatever happens to its HTTP response) is reported like Meta does. */
function reportStatuses(msg) {
  if (!WA_INGRESS || !WA_SECRET) return;
  statusStats.scheduled += 2;
  const sentAfter = 50 + Math.random() * 250;
  setTimeout(() => void postStatus(msg, 'sent'), sentAfter);
  setTimeout(() => void postStatus(msg, 'delivered'), sentAfter + 100 + Math.random() * 600);
}

// ---------------------------------------------------------------- chaos fronts
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
const json = (res, status, obj, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(obj));
};

/**
 * A proxy in front of a fake. `decide(req, body)` returns undefined (forward), a function that
 * answers instead, or `{ afterForward(upstreamStatus, upstreamBody, req) }` to forward and then
 * handle the upstream answer itself (return true when it did).
 */
async function startFront(target, decide) {
  const t = new URL(target);
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req).catch(() => Buffer.alloc(0));
    const d = decide(req, body);
    if (typeof d === 'function') return d(req, res);
    const upstream = http.request(
      { host: t.hostname, port: t.port, path: req.url, method: req.method, headers: { ...req.headers, host: t.host, 'content-length': body.length } },
      (up) => {
        const chunks = [];
        up.on('data', (c) => chunks.push(c));
        up.on('end', () => {
          const upBody = Buffer.concat(chunks);
          if (d?.afterForward?.(up.statusCode ?? 502, upBody, req)) return;
          const headers = { ...up.headers };
          delete headers['transfer-encoding'];
          headers['content-length'] = String(upBody.length);
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(upBody);
        });
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    upstream.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  return `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
}
const parseJson = (buf) => {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
};

// Graph: same paths as the fake (base URL + /v24.0)
let graphMode = 'off';
const graphCounts = { '429': 0, '5xx': 0, timeout: 0, 'lost-response': 0, forwarded: 0 };
const graphTarget = new URL(graph.url);
const graphFront = await startFront(`${graphTarget.protocol}//${graphTarget.host}`, (req, body) => {
  const isSend = req.method === 'POST' && /\/messages$/.test(req.url ?? '') && !body.includes('"status":"read"');
  if (isSend && graphMode === '429') {
    graphCounts['429'] += 1;
    return (_q, res) => json(res, 400, { error: { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429, fbtrace_id: 'Asoak' } });
  }
  if (isSend && graphMode === '5xx') {
    graphCounts['5xx'] += 1;
    return (_q, res) => json(res, 503, { error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true, fbtrace_id: 'Asoak' } });
  }
  if (isSend && graphMode === 'timeout') {
    graphCounts.timeout += 1;
    return (q) => {
      const timer = setTimeout(() => q.socket.destroy(), 16_000);
      q.socket.on('close', () => clearTimeout(timer));
    };
  }
  graphCounts.forwarded += 1;
  if (!isSend || graphMode !== 'lost-response') return undefined;
  // performed (recorded, status webhooks scheduled by onSent), but the answer never reaches the gateway
  return {
    afterForward(_status, _upBody, q) {
      graphCounts['lost-response'] += 1;
      q.socket.destroy();
      return true;
    },
  };
});
const graphFrontUrl = `${graphFront}${graphTarget.pathname}`;

// WeCom: paths /cgi-bin/...
let wecomMode = 'off';
const wecomCounts = { busy: 0, '5xx': 0, '42001-armed': 0, forwarded: 0 };
const wecomFront = await startFront(wecom.url, (req) => {
  const isSend = req.method === 'POST' && (req.url ?? '').startsWith('/cgi-bin/kf/send_msg?');
  if (isSend && wecomMode === 'busy') {
    wecomCounts.busy += 1;
    return (_q, res) => json(res, 200, { errcode: -1, errmsg: 'system busy' });
  }
  if (isSend && wecomMode === '5xx') {
    wecomCounts['5xx'] += 1;
    return (_q, res) => json(res, 503, { message: 'service unavailable' });
  }
  if (isSend && wecomMode === '42001') {
    // a real expiry: every token issued so far is dead; the fake answers 42001 until a refresh
    wecomCounts['42001-armed'] += 1;
    wecom.expireTokens();
    wecomMode = 'off';
  }
  wecomCounts.forwarded += 1;
  return undefined;
});

// Chatwoot: paths /api/v1/accounts/{a}/...
let chatwootMode = 'off';
const chatwootCounts = { '429': 0, '5xx': 0, forwarded: 0 };
const chatwootFront = await startFront(chatwoot.url, (req) => {
  const isPost = req.method === 'POST' && /\/conversations\/\d+\/messages$/.test((req.url ?? '').split('?')[0]);
  if (isPost && chatwootMode === '429') {
    chatwootCounts['429'] += 1;
    return (_q, res) => json(res, 429, { error: 'Too many requests' }, { 'retry-after': '2' });
  }
  if (isPost && chatwootMode === '5xx') {
    chatwootCounts['5xx'] += 1;
    return (_q, res) => json(res, 500, { error: 'Internal server error' });
  }
  chatwootCounts.forwarded += 1;
  return undefined;
});

// ---------------------------------------------------------------- control
const control = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (obj) => json(res, 200, obj);
  const input = req.method === 'POST' ? parseJson(await readBody(req)) ?? {} : {};
  if (req.method === 'POST' && url.pathname === '/chaos/graph') {
    graphMode = input.mode ?? 'off';
    return send({ graphMode });
  }
  if (req.method === 'POST' && url.pathname === '/chaos/wecom') {
    wecomMode = input.mode ?? 'off';
    return send({ wecomMode });
  }
  if (req.method === 'POST' && url.pathname === '/chaos/chatwoot') {
    chatwootMode = input.mode ?? 'off';
    return send({ chatwootMode });
  }
  if (req.method === 'POST' && url.pathname === '/chaos/llm') {
    if (typeof input.delayMs === 'number') llmDelay = input.delayMs;
    if (typeof input.fail === 'number') openai.failNext(input.fail, input.status ?? 500);
    return send({ llmDelay });
  }
  if (req.method === 'POST' && url.pathname === '/wecom/messages') {
    for (const m of input.items ?? []) {
      wecom.customerText(m.kfid, m.user, m.content, { msgid: m.msgid });
      wecomCustomerMessages += 1;
    }
    return send({ token: wecom.callbackToken() });
  }
  if (req.method === 'POST' && url.pathname === '/chatwoot/conversations') {
    for (const c of input.items ?? []) chatwoot.addConversation({ id: c.id, inbox_id: c.inboxId, contact_id: c.contactId, source_id: `widget-${c.contactId}`, status: 'pending' });
    return send({ conversations: chatwoot.conversations.size });
  }
  if (url.pathname === '/replies') {
    const from = Number(url.searchParams.get('from') ?? 0);
    return send({ from, total: replies.length, replies: replies.slice(from) });
  }
  if (url.pathname === '/sends') {
    const from = Number(url.searchParams.get('from') ?? 0);
    return send({ from, total: graphSends.length, sends: graphSends.slice(from) });
  }
  if (url.pathname === '/stats') {
    digestWecomCalls();
    return send({
      graph: { mode: graphMode, counts: graphCounts },
      wecom: { mode: wecomMode, counts: wecomCounts, tokensIssued: wecom.tokensIssued, customerMessages: wecomCustomerMessages, ...wecomStats },
      chatwoot: { mode: chatwootMode, counts: chatwootCounts },
      statusWebhooks: statusStats,
      llm: { inFlight, maxInFlight, calls: llmCalls },
    });
  }
  if (url.pathname === '/llm') return send({ inFlight, maxInFlight, calls: llmCalls });
  if (url.pathname === '/llm/reset') {
    maxInFlight = inFlight;
    llmCalls = 0;
    return send({ ok: true });
  }
  if (url.pathname === '/graph') return send({ mode: graphMode, counts: graphCounts });
  res.statusCode = 404;
  res.end();
});
await new Promise((r) => control.listen(0, '127.0.0.1', () => r(undefined)));

process.stdout.write(
  JSON.stringify({
    graph: graphFrontUrl,
    wecom: wecomFront,
    wecomSecret: wecom.secret,
    chatwoot: chatwootFront,
    chatwootAccountId: chatwoot.accountId,
    chatwootBotToken: chatwoot.botToken,
    chatwootUserToken: chatwoot.userToken,
    openai: openai.url,
    control: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (control.address()).port}`,
  }) + '\n',
);
process.on('SIGTERM', () => process.exit(0));
