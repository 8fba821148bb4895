import { parseMultipart } from '@switchboard/core';
/**
 * A fake media host on loopback for the media pipeline, speaking the three providers' download
 * and upload wire formats, plus generators of tiny real media samples.
 *
 * - WhatsApp (Graph): `GET /{version}/{media-id}` → `{url, mime_type, sha256, file_size, id}`;
 *   `GET /wa-cdn/{token}` → the bytes (Bearer required, URLs expire); `POST /{version}/{pnid}/media`
 *   (multipart `file`, `type`, `messaging_product`) → `{id}`.
 * - WeChat: `GET /cgi-bin/media/get?access_token&media_id` → the bytes, or JSON `{errcode}`;
 *   `POST /cgi-bin/media/upload?access_token&type` (multipart `media`).
 * - Chatwoot: `GET /rails/active_storage/blobs/redirect/{key}/{name}` → 302 → `/blobs/{key}`.
 * @see docs/media.md (media per provider) and docs/channels/*.md
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A file the fake serves. */
export interface FakeMediaFile {
  bytes: Buffer;
  mimeType: string;
  filename?: string;
}

/** One request the fake received (headers lower-cased; tokens kept so tests can assert them). */
export interface FakeMediaCall {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  at: number;
}

/** An upload the fake accepted. */
export interface FakeMediaUpload {
  channel: 'whatsapp' | 'wechat-kf';
  id: string;
  /** WhatsApp `type` field or WeChat `type` query. */
  type: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

/** One transcription request as the fake parsed it. */
export interface FakeTranscriptionRequest {
  model: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
  authorization?: string;
}

/** Options of {@link startFakeMediaHost}. */
export interface FakeMediaHostOptions {
  /** Graph version in paths (default v24.0). */
  version?: string;
  /** The Bearer token WhatsApp calls must carry (default `fake-wa-token`). */
  whatsappToken?: string;
  /** The `access_token` WeChat calls must carry (default `fake-wx-token`). */
  wechatToken?: string;
  /** Lifetime of issued WhatsApp download URLs (default 5 minutes, as Meta's). */
  urlTtlMs?: number;
}

/** Handle of the fake. */
export interface FakeMediaHost {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** WHATSAPP_GRAPH_URL for the fake (`{url}/{version}`). */
  graphUrl: string;
  /** WECHAT_API_URL for the fake (same as `url`). */
  wechatApiUrl: string;
  /**
   * Makes issued WhatsApp download URLs start with `origin` instead of the fake's own (e.g. a fake
   * Graph that proxies to this host, so lookups and downloads share the Graph origin).
   */
  setPublicOrigin(origin: string): void;
  calls: FakeMediaCall[];
  uploads: FakeMediaUpload[];
  whatsapp: {
    /** Serves `file` under a media id; returns the id. */
    add(file: FakeMediaFile, mediaId?: string): string;
    /** A download URL for the id as a webhook's `url` field would carry it. */
    issueUrl(mediaId: string): string;
    /** Every URL issued so far answers 404 (as after Meta's 5 minutes). */
    expireIssuedUrls(): void;
    /** Only the next URL issued by `GET /{media-id}` is already expired. */
    expireNextIssuedUrl(): void;
    /** `GET /{media-id}` calls for one id. */
    lookups(mediaId?: string): number;
    /** Binary downloads attempted (any status) for one id. */
    downloads(mediaId?: string): number;
    /** The next `POST /{pnid}/media` answers this Graph error (e.g. 400 + 131053). */
    failUploadNext(status: number, code: number, message?: string): void;
  };
  wechat: {
    add(file: FakeMediaFile, mediaId?: string): string;
    /** The next `times` `media/get` calls answer this errcode as JSON. */
    failNext(errcode: number, times?: number, errmsg?: string): void;
    /** The next `media/upload` calls answer this errcode. */
    failUploadNext(errcode: number, times?: number): void;
    /** Changes the accepted token (the old one then gets 42001). */
    rotateToken(next: string): void;
    gets(mediaId?: string): number;
  };
  /**
   * An OpenAI-compatible `POST /v1/audio/transcriptions` that records the uploaded file (so tests
   * can check what was converted and sent); base URL `{url}/v1`.
   */
  transcriptions: {
    requests: FakeTranscriptionRequest[];
    /** The text answered (default `fake transcript`). */
    setText(text: string): void;
    /** The next `n` requests answer `status` with an OpenAI error body. */
    failNext(n: number, status?: number): void;
  };
  chatwoot: {
    /** Stores a blob; returns its `data_url` (a redirect). */
    add(file: FakeMediaFile): string;
    /** Redirects answered. */
    redirects(): number;
  };
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}


function json(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function graphError(res: ServerResponse, status: number, code: number, message: string): void {
  json(res, status, { error: { message, type: 'OAuthException', code, fbtrace_id: `Afake${code}` } });
}

/** Starts the fake media host on 127.0.0.1 and a random port. */
export async function startFakeMediaHost(opts: FakeMediaHostOptions = {}): Promise<FakeMediaHost> {
  const version = opts.version ?? 'v24.0';
  const waToken = opts.whatsappToken ?? 'fake-wa-token';
  let wxToken = opts.wechatToken ?? 'fake-wx-token';
  const retiredWxTokens = new Set<string>();
  const urlTtlMs = opts.urlTtlMs ?? 5 * 60_000;
  const calls: FakeMediaCall[] = [];
  const uploads: FakeMediaUpload[] = [];
  const waFiles = new Map<string, FakeMediaFile>();
  const waUrls = new Map<string, { mediaId: string; expiresAt: number; expired: boolean }>();
  const wxFiles = new Map<string, FakeMediaFile>();
  const cwBlobs = new Map<string, FakeMediaFile>();
  const wxFailures: Array<{ errcode: number; errmsg: string }> = [];
  const wxUploadFailures: number[] = [];
  const waUploadFailures: Array<{ status: number; code: number; message: string }> = [];
  let expireNext = false;
  const transcriptionRequests: FakeTranscriptionRequest[] = [];
  let transcriptText = 'fake transcript';
  let sttFailures = 0;
  let sttFailStatus = 500;
  let redirectCount = 0;
  let base = '';
  let publicOrigin: string | undefined;

  const issue = (mediaId: string, expired = false): string => {
    const token = randomBytes(12).toString('hex');
    waUrls.set(token, { mediaId, expiresAt: Date.now() + urlTtlMs, expired });
    // Meta's CDN URLs carry signed query parameters; the fake mimics the shape
    return `${publicOrigin ?? base}/wa-cdn/${token}?ext=${Date.now()}&hash=${token.slice(0, 8)}`;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    const path = u.pathname;
    const query = Object.fromEntries(u.searchParams.entries());
    const method = req.method ?? 'GET';
    const call: FakeMediaCall = { method, path, query, headers: { ...req.headers }, status: 0, at: Date.now() };
    calls.push(call);
    const raw = await readBody(req);
    res.on('finish', () => {
      call.status = res.statusCode;
    });
    const bearerOk = req.headers.authorization === `Bearer ${waToken}`;

    // ---- WhatsApp binary URL
    const cdn = /^\/wa-cdn\/([0-9a-f]+)$/.exec(path);
    if (cdn && method === 'GET') {
      const entry = waUrls.get(cdn[1]!);
      if (!bearerOk) return graphError(res, 401, 190, 'Invalid OAuth access token');
      if (!entry || entry.expired || entry.expiresAt < Date.now()) {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<html><body>URL signature expired</body></html>');
        return;
      }
      const f = waFiles.get(entry.mediaId);
      if (!f) return graphError(res, 404, 100, 'Unknown media');
      res.writeHead(200, { 'content-type': f.mimeType, 'content-length': f.bytes.length });
      res.end(f.bytes);
      return;
    }

    // ---- WhatsApp upload
    const up = new RegExp(`^/${version}/([^/]+)/media$`).exec(path);
    if (up && method === 'POST') {
      if (!bearerOk) return graphError(res, 401, 190, 'Invalid OAuth access token');
      const failure = waUploadFailures.shift();
      if (failure) return graphError(res, failure.status, failure.code, failure.message);
      const parts = parseMultipart(String(req.headers['content-type'] ?? ''), raw);
      const file = parts.get('file');
      const type = parts.get('type')?.bytes.toString('utf8');
      if (parts.get('messaging_product')?.bytes.toString('utf8') !== 'whatsapp' || !file || !type) {
        return graphError(res, 400, 100, '(#100) The parameter messaging_product, file and type are required');
      }
      const id = String(Math.floor(1e15 + Math.random() * 9e15));
      waFiles.set(id, { bytes: file.bytes, mimeType: type, ...(file.filename ? { filename: file.filename } : {}) });
      uploads.push({ channel: 'whatsapp', id, type, filename: file.filename ?? '', contentType: file.contentType ?? '', bytes: file.bytes });
      return json(res, 200, { id });
    }

    // ---- WhatsApp media URL lookup
    const lookup = new RegExp(`^/${version}/([^/]+)$`).exec(path);
    if (lookup && method === 'GET') {
      if (!bearerOk) return graphError(res, 401, 190, 'Invalid OAuth access token');
      const id = decodeURIComponent(lookup[1]!);
      const f = waFiles.get(id);
      if (!f) return graphError(res, 400, 100, `Unsupported get request. Object with ID '${id}' does not exist`);
      const url = issue(id, expireNext);
      expireNext = false;
      return json(res, 200, {
        messaging_product: 'whatsapp',
        url,
        mime_type: f.mimeType,
        sha256: createHash('sha256').update(f.bytes).digest('base64'),
        file_size: f.bytes.length,
        id,
      });
    }

    // ---- WeChat
    if (path === '/cgi-bin/media/get' || path === '/cgi-bin/media/upload') {
      const token = query['access_token'];
      if (!token) return json(res, 200, { errcode: 41001, errmsg: 'access_token missing' });
      if (retiredWxTokens.has(token)) return json(res, 200, { errcode: 42001, errmsg: 'access_token expired' });
      if (token !== wxToken) return json(res, 200, { errcode: 40014, errmsg: 'invalid access_token' });
      if (path === '/cgi-bin/media/get') {
        const failure = wxFailures.shift();
        if (failure) return json(res, 200, failure);
        const f = wxFiles.get(query['media_id'] ?? '');
        if (!f) return json(res, 200, { errcode: 40007, errmsg: 'invalid media_id' });
        res.writeHead(200, {
          'content-type': f.mimeType,
          'content-disposition': `attachment; filename="${f.filename ?? 'file.bin'}"`,
          'content-length': f.bytes.length,
        });
        res.end(f.bytes);
        return;
      }
      const code = wxUploadFailures.shift();
      if (code !== undefined) return json(res, 200, { errcode: code, errmsg: `fake error ${code}` });
      const type = query['type'] ?? '';
      if (!['image', 'voice', 'video', 'file'].includes(type)) return json(res, 200, { errcode: 40004, errmsg: 'invalid media type' });
      const file = parseMultipart(String(req.headers['content-type'] ?? ''), raw).get('media');
      if (!file) return json(res, 200, { errcode: 41005, errmsg: 'media data missing' });
      if (file.bytes.length <= 5) return json(res, 200, { errcode: 40006, errmsg: 'invalid file size' });
      const id = `mid_${randomBytes(10).toString('hex')}`;
      wxFiles.set(id, { bytes: file.bytes, mimeType: file.contentType ?? 'application/octet-stream', ...(file.filename ? { filename: file.filename } : {}) });
      uploads.push({ channel: 'wechat-kf', id, type, filename: file.filename ?? '', contentType: file.contentType ?? '', bytes: file.bytes });
      return json(res, 200, { errcode: 0, errmsg: 'ok', type, media_id: id, created_at: String(Math.floor(Date.now() / 1000)) });
    }

    // ---- OpenAI-compatible speech-to-text
    if (path === '/v1/audio/transcriptions' && method === 'POST') {
      if (sttFailures > 0) {
        sttFailures -= 1;
        return json(res, sttFailStatus, { error: { message: `scripted failure ${sttFailStatus}`, type: 'server_error', param: null, code: null } });
      }
      const parts = parseMultipart(String(req.headers['content-type'] ?? ''), raw);
      const file = parts.get('file');
      const model = parts.get('model')?.bytes.toString('utf8');
      if (!file || !model) return json(res, 400, { error: { message: "Missing required parameter: 'file' or 'model'.", type: 'invalid_request_error', param: null, code: null } });
      transcriptionRequests.push({
        model,
        filename: file.filename ?? '',
        contentType: file.contentType ?? '',
        bytes: file.bytes,
        ...(typeof req.headers.authorization === 'string' ? { authorization: req.headers.authorization } : {}),
      });
      return json(res, 200, { text: transcriptText, usage: { type: 'duration', seconds: 1 } });
    }

    // ---- Chatwoot ActiveStorage
    const redirect = /^\/rails\/active_storage\/blobs\/redirect\/([^/]+)\/(.+)$/.exec(path);
    if (redirect && method === 'GET') {
      if (!cwBlobs.has(redirect[1]!)) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      redirectCount += 1;
      res.writeHead(302, { location: `${base}/blobs/${redirect[1]}` });
      res.end();
      return;
    }
    const blob = /^\/blobs\/([^/]+)$/.exec(path);
    if (blob && method === 'GET') {
      const f = cwBlobs.get(blob[1]!);
      if (!f) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': f.mimeType, 'content-length': f.bytes.length, 'content-disposition': `inline; filename="${f.filename ?? 'file'}"` });
      res.end(f.bytes);
      return;
    }

    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`no route ${method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idOf = (c: FakeMediaCall) => {
    const token = /^\/wa-cdn\/([0-9a-f]+)$/.exec(c.path)?.[1];
    return token ? waUrls.get(token)?.mediaId : undefined;
  };

  return {
    url: base,
    graphUrl: `${base}/${version}`,
    wechatApiUrl: base,
    setPublicOrigin: (origin) => {
      publicOrigin = origin.replace(/\/+$/, '');
    },
    calls,
    uploads,
    whatsapp: {
      add(file, mediaId = String(Math.floor(1e15 + Math.random() * 9e15))) {
        waFiles.set(mediaId, file);
        return mediaId;
      },
      issueUrl: (mediaId) => issue(mediaId),
      expireIssuedUrls() {
        for (const v of waUrls.values()) v.expired = true;
      },
      expireNextIssuedUrl() {
        expireNext = true;
      },
      lookups: (mediaId) => calls.filter((c) => c.method === 'GET' && c.path.startsWith(`/${version}/`) && (mediaId === undefined || c.path === `/${version}/${mediaId}`)).length,
      downloads: (mediaId) => calls.filter((c) => c.path.startsWith('/wa-cdn/') && (mediaId === undefined || idOf(c) === mediaId)).length,
      failUploadNext(status, code, message = `(#${code}) Media upload error`) {
        waUploadFailures.push({ status, code, message });
      },
    },
    wechat: {
      add(file, mediaId = `mid_${randomBytes(10).toString('hex')}`) {
        wxFiles.set(mediaId, file);
        return mediaId;
      },
      failNext(errcode, times = 1, errmsg = `fake error ${errcode}`) {
        for (let i = 0; i < times; i++) wxFailures.push({ errcode, errmsg });
      },
      failUploadNext(errcode, times = 1) {
        for (let i = 0; i < times; i++) wxUploadFailures.push(errcode);
      },
      rotateToken(next) {
        retiredWxTokens.add(wxToken);
        retiredWxTokens.delete(next);
        wxToken = next;
      },
      gets: (mediaId) => calls.filter((c) => c.path === '/cgi-bin/media/get' && (mediaId === undefined || c.query['media_id'] === mediaId)).length,
    },
    transcriptions: {
      requests: transcriptionRequests,
      setText(text) {
        transcriptText = text;
      },
      failNext(n, status = 500) {
        sttFailures = n;
        sttFailStatus = status;
      },
    },
    chatwoot: {
      add(file) {
        const key = randomBytes(16).toString('base64url');
        cwBlobs.set(key, file);
        return `${base}/rails/active_storage/blobs/redirect/${key}/${encodeURIComponent(file.filename ?? 'file')}`;
      },
      redirects: () => redirectCount,
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- samples -------------------------------------------------------------------------------

/** A 1×1 PNG. */
export const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

let ffmpegFound: boolean | undefined;

/** True when `ffmpeg` and `ffprobe` run (tests that need them skip otherwise). */
export function ffmpegAvailable(): boolean {
  if (ffmpegFound === undefined) {
    const ok = (cmd: string) => spawnSync(cmd, ['-version'], { stdio: 'ignore' }).status === 0;
    ffmpegFound = ok('ffmpeg') && ok('ffprobe');
  }
  return ffmpegFound;
}

/** Runs ffmpeg to produce one file from lavfi sources and returns its bytes. */
function ffmpegSample(ext: string, args: string[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'sb-sample-'));
  try {
    const out = join(dir, `sample.${ext}`);
    execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args, out], { stdio: ['ignore', 'ignore', 'pipe'] });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A WhatsApp-style voice note: OGG/Opus mono, a sine tone of `seconds` (needs ffmpeg). */
export function oggOpusSample(seconds = 1): Buffer {
  return ffmpegSample('ogg', ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-ac', '1', '-c:a', 'libopus', '-b:a', '16k']);
}

/** An MP3 tone (needs ffmpeg). */
export function mp3Sample(seconds = 1): Buffer {
  return ffmpegSample('mp3', ['-f', 'lavfi', '-i', `sine=frequency=330:duration=${seconds}`, '-ac', '1', '-c:a', 'libmp3lame', '-b:a', '32k']);
}

/** A small MP4 with a test pattern and a tone (needs ffmpeg). */
export function mp4Sample(seconds = 1): Buffer {
  return ffmpegSample('mp4', [
    '-f', 'lavfi', '-i', `testsrc=size=64x48:rate=10:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
    '-c:v', 'mpeg4', '-c:a', 'aac', '-shortest', '-movflags', 'faststart',
  ]);
}

/**
 * A WeChat-style AMR-NB voice file built by hand (Debian's ffmpeg decodes AMR but has no AMR
 * encoder): the `#!AMR\n` magic, then 50 frames a second of mode 4.75 kbit/s (header 0x04, 12
 * payload bytes of deterministic noise). ffmpeg decodes it as `amr_nb`.
 * @see RFC 4867 §5 (storage format)
 */
export function amrSample(seconds = 1): Buffer {
  const frames: Buffer[] = [Buffer.from('#!AMR\n', 'latin1')];
  let x = 0x2545f491;
  for (let i = 0; i < Math.round(seconds * 50); i++) {
    const f = Buffer.alloc(13);
    f[0] = 0x04; // FT=0 (MR475), Q=1
    for (let j = 1; j < 13; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      f[j] = (x >>> 16) & 0xff;
    }
    frames.push(f);
  }
  return Buffer.concat(frames);
}

/** A WeChat SILK v3 header (enough for type detection; no decoder exists in stock ffmpeg). */
export function silkHeaderSample(): Buffer {
  // fixed bytes: about one random tail in eight decodes as a few silent frames (a flaky "corrupt" file)
  return Buffer.concat([Buffer.from('\x02#!SILK_V3', 'latin1'), Buffer.alloc(64, 0xff)]);
}

/**
 * A minimal valid one-page PDF (Helvetica, one line per entry) written by hand with a correct
 * cross-reference table, so text extraction can be tested without a PDF library.
 */
export function minimalPdf(lines: string[]): Buffer {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\(/g, '\\(').replace(/\)/g, '\\)');
  const stream = ['BT', '/F1 12 Tf', '72 720 Td', '14 TL', ...lines.map((l, i) => (i === 0 ? `(${esc(l)}) Tj` : `T* (${esc(l)}) Tj`)), 'ET'].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
