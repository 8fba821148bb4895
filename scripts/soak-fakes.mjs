// Child process of `pnpm soak` / `pnpm bench:scaling`: the fake Graph API and fake OpenAI from the
// built testkit, behind a small chaos front for Graph, plus a control endpoint. Prints its URLs as
// one JSON line. Loopback only.
//
// - Graph chaos (POST /chaos/graph {mode, ms}): `429` (Graph code 130429, account throughput),
//   `5xx` (503), `timeout` (the request hangs past the client's 15 s timeout and the socket is
//   closed; the send is NOT performed, like a lost request), `off`.
// - LLM: POST /chaos/llm {delayMs} (slow model), {fail, status} (the next `fail` requests answer status).
// - The fake model echoes the customer's probe tokens (`#c<conv>:<k>`) of the current turn, in the
//   order they appear, so the soak can check loss, duplicates and order from the replies alone.
// - GET /sends?from=i: replies received by Graph since index i ({to, text, at}).
// - GET /llm: in-flight statistics of the fake model (current, max, calls).
import http from 'node:http';
import { startFakeGraph, startFakeOpenAI } from '../packages/testkit/dist/index.js';

const baseDelay = Number(process.env.SOAK_LLM_DELAY_MS ?? 0);
const graph = await startFakeGraph();
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
      if (llmDelay > 0) await new Promise((r) => setTimeout(r, llmDelay));
      const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
      const tokens = textOf(lastUser?.content).match(/#c\d+:\d+/g) ?? [];
      return tokens.length ? `ack ${tokens.join(' ')}` : 'ack (no probe)';
    } finally {
      inFlight -= 1;
    }
  },
});
// the soak only needs what was sent; drop the request log so memory stays flat
const trimTimer = setInterval(() => {
  graph.requests.length = 0;
  openai.requests.length = 0;
  openai.calls.length = 0;
}, 1000);
trimTimer.unref();

let graphMode = 'off';
let graphCounts = { '429': 0, '5xx': 0, timeout: 0, forwarded: 0 };
const graphTarget = new URL(graph.url);

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// chaos front for Graph: same paths as the fake (base URL + /v24.0)
const front = http.createServer(async (req, res) => {
  const body = await readBody(req).catch(() => Buffer.alloc(0));
  const isSend = req.method === 'POST' && /\/messages$/.test(req.url ?? '') && !body.includes('"status":"read"');
  if (isSend && graphMode === '429') {
    graphCounts['429'] += 1;
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429, fbtrace_id: 'Asoak' } }));
    return;
  }
  if (isSend && graphMode === '5xx') {
    graphCounts['5xx'] += 1;
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true, fbtrace_id: 'Asoak' } }));
    return;
  }
  if (isSend && graphMode === 'timeout') {
    graphCounts.timeout += 1;
    const t = setTimeout(() => req.socket.destroy(), 16_000);
    req.socket.on('close', () => clearTimeout(t));
    return;
  }
  graphCounts.forwarded += 1;
  const upstream = http.request(
    { host: graphTarget.hostname, port: graphTarget.port, path: req.url, method: req.method, headers: { ...req.headers, host: graphTarget.host, 'content-length': body.length } },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  upstream.end(body);
});
await new Promise((r) => front.listen(0, '127.0.0.1', r));
const frontUrl = `http://127.0.0.1:${front.address().port}${graphTarget.pathname}`;

function textOfSent(m) {
  const b = m.body ?? {};
  return b.text?.body ?? b.interactive?.body?.text ?? `[${m.type}]`;
}

// receive time of every accepted send, taken when the fake Graph stored it
const sentAt = [];
const origPush = graph.sent.push.bind(graph.sent);
graph.sent.push = (...items) => {
  for (let i = 0; i < items.length; i++) sentAt.push(Date.now());
  return origPush(...items);
};

const control = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (obj) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(obj));
  };
  if (req.method === 'POST' && url.pathname === '/chaos/graph') {
    const { mode } = JSON.parse((await readBody(req)).toString() || '{}');
    graphMode = mode ?? 'off';
    return send({ graphMode });
  }
  if (req.method === 'POST' && url.pathname === '/chaos/llm') {
    const o = JSON.parse((await readBody(req)).toString() || '{}');
    if (typeof o.delayMs === 'number') llmDelay = o.delayMs;
    if (typeof o.fail === 'number') openai.failNext(o.fail, o.status ?? 500);
    return send({ llmDelay });
  }
  if (url.pathname === '/sends') {
    const from = Number(url.searchParams.get('from') ?? 0);
    const sends = graph.sent.slice(from).map((m, i) => ({ to: m.to ?? m.recipient, text: textOfSent(m), at: sentAt[from + i] }));
    return send({ from, total: graph.sent.length, sends });
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
await new Promise((r) => control.listen(0, '127.0.0.1', r));

process.stdout.write(JSON.stringify({ graph: frontUrl, openai: openai.url, control: `http://127.0.0.1:${control.address().port}` }) + '\n');
process.on('SIGTERM', () => process.exit(0));
