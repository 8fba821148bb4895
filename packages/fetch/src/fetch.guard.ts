import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Transform, type Readable } from 'node:stream';
import type { Counter, Registry } from 'prom-client';
import type { Logger } from '@switchboard/core';
import { classifyAddress, isIpLiteral } from './fetch.address.js';
import type { FetchEnv } from './fetch.env.js';
import { fetchRefusedCounter } from './fetch.metrics.js';
import { FetchFailedError, FetchRefusal, FetchRefusedError, FetchTooLargeError } from './fetch.errors.js';
import { pinnedLookup, systemResolver, type ResolvedAddress, type Resolver } from './fetch.resolve.js';

/** User-Agent of every guarded fetch (Meta's CDN answers requests without one with errors). */
export const FETCH_USER_AGENT = 'switchboard-gateway/0.1 (media)';

/**
 * Credentials that belong to one provider: sent only to a hop whose origin is one of `origins`,
 * dropped on every other hop (a redirect to a foreign host, a media URL on a foreign host).
 */
export interface CredentialScope {
  /** Provider name, for logs: `whatsapp`, `wechat-kf`, `chatwoot`. */
  readonly name: string;
  /** Normalized origins (`URL.origin`) that may receive the credentials. */
  readonly origins: readonly string[];
  /** Headers carrying the credential, e.g. `{ Authorization: 'Bearer …' }`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Query parameters carrying the credential, e.g. WeCom's `{ access_token }`. */
  readonly query?: Readonly<Record<string, string>>;
}

/** Options of one {@link GuardedFetcher.fetch}. */
export interface GuardedFetchOptions {
  /** Headers without secrets (secrets go in `credentials`). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly credentials?: CredentialScope;
  /**
   * Origins exempt from the address check for this fetch: the configured base URL of the provider
   * the file belongs to (WHATSAPP_GRAPH_URL for WhatsApp media, CHATWOOT_URL for attachments…).
   */
  readonly providerOrigins?: readonly string[];
  /** Body cap for this fetch; at most the fetcher's own cap. */
  readonly maxBytes?: number;
  /** Whole fetch (every hop, headers and body); default the fetcher's. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** What is fetched, for logs (`the voice message`). */
  readonly what?: string;
}

/** A response whose body the caller reads (capped) or discards. */
export interface GuardedResponse {
  readonly status: number;
  /** Lower-cased names, repeated values joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, erroring with {@link FetchTooLargeError} past the cap and {@link FetchFailedError} on timeout. */
  readonly body: Readable;
  /** The URL of the last hop (without credential query parameters). */
  readonly url: string;
  /** The address the socket was pinned to. */
  readonly address: string;
  readonly redirects: number;
}

/** Options of {@link GuardedFetcher}. */
export interface GuardedFetcherOptions {
  /** FETCH_ALLOWED_ORIGINS: fetched from whatever their address (normalized origins). */
  readonly allowedOrigins?: readonly string[];
  /** FETCH_MAX_REDIRECTS (default 5). */
  readonly maxRedirects?: number;
  /** Per fetch, all hops and the body (MEDIA_DOWNLOAD_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** Hard body cap of any fetch (MEDIA_MAX_BYTES). */
  readonly maxBytes: number;
  /** DNS; default the system resolver. */
  readonly resolver?: Resolver;
  readonly userAgent?: string;
  readonly log?: Logger;
  /** `sb_fetch_refused_total{reason}` (see {@link fetchRefusedCounter}). */
  readonly refused?: Counter<'reason'>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function originOf(url: URL): string {
  return url.origin;
}

function flatHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function networkError(err: unknown, what: string): FetchFailedError {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.code === 'ABORT_ERR') return new FetchFailedError(`${what}: timed out`, err);
  return new FetchFailedError(`${what}: ${e?.code ?? e?.message ?? String(err)}`, err);
}

/**
 * The one way to fetch a URL that came from outside (provider media, Chatwoot attachments, reply
 * media by URL, and later knowledge URLs and links customers send).
 *
 * Per hop: the URL must be http(s) without userinfo; unless its origin is allowed (FETCH_ALLOWED_ORIGINS
 * or the provider's own configured origin for this fetch), the host is resolved and *every*
 * address must be public unicast (see {@link classifyAddress}); the socket is then pinned to the
 * checked address (a custom `lookup`), so a DNS answer that changes between check and connect
 * (rebinding) never reaches the connection. Redirects are followed by hand, at most
 * `maxRedirects`, each hop checked again; credentials of a {@link CredentialScope} go only to its
 * origins. Refusals throw {@link FetchRefusedError}, are logged and counted.
 */
export class GuardedFetcher {
  private readonly allowed: ReadonlySet<string>;
  private readonly resolver: Resolver;
  private readonly maxRedirects: number;

  constructor(private readonly opts: GuardedFetcherOptions) {
    this.allowed = new Set(opts.allowedOrigins ?? []);
    this.resolver = opts.resolver ?? systemResolver;
    this.maxRedirects = opts.maxRedirects ?? 5;
  }

  /** GETs `url`; resolves with the first non-redirect response (any status). */
  async fetch(url: string, opts: GuardedFetchOptions = {}): Promise<GuardedResponse> {
    try {
      return await this.run(url, opts);
    } catch (err) {
      if (err instanceof FetchRefusedError) {
        this.opts.refused?.inc({ reason: err.reason });
        this.opts.log?.warn('fetch refused', { reason: err.reason, origin: err.origin, hop: err.hop, what: opts.what, err: err.message });
      }
      throw err;
    }
  }

  /** {@link fetch} and read the whole (capped) body; for small files sent on as uploads. */
  async fetchBytes(url: string, opts: GuardedFetchOptions = {}): Promise<{ status: number; headers: Readonly<Record<string, string>>; bytes: Buffer; url: string }> {
    const res = await this.fetch(url, opts);
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    return { status: res.status, headers: res.headers, bytes: Buffer.concat(chunks), url: res.url };
  }

  private async run(input: string, opts: GuardedFetchOptions): Promise<GuardedResponse> {
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs;
    const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    const maxBytes = Math.min(opts.maxBytes ?? this.opts.maxBytes, this.opts.maxBytes);
    const providers = new Set(opts.providerOrigins ?? []);
    let url = parseUrl(input, 0);
    for (let hop = 0; ; hop += 1) {
      const origin = originOf(url);
      const target = await this.pin(url, this.allowed.has(origin) || providers.has(origin), hop);
      const scoped = opts.credentials && opts.credentials.origins.includes(origin) ? opts.credentials : undefined;
      const wire = new URL(url);
      for (const [k, v] of Object.entries(scoped?.query ?? {})) wire.searchParams.set(k, v);
      // a host that echoes the token into its redirect must not hand it to the next, foreign one
      if (!scoped && opts.credentials?.query) stripSecrets(wire, opts.credentials.query);
      const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? FETCH_USER_AGENT, ...lower(opts.headers), ...lower(scoped?.headers) };
      const res = await this.request(wire, target, headers, signal);
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode ?? 0) && location) {
        res.resume();
        if (hop + 1 > this.maxRedirects) {
          throw new FetchRefusedError(FetchRefusal.tooManyRedirects, `more than ${this.maxRedirects} redirects`, { origin, hop: hop + 1 });
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new FetchRefusedError(FetchRefusal.badRedirect, 'redirect to an unparsable Location', { origin, hop: hop + 1 });
        }
        url = checkUrl(next, hop + 1);
        continue;
      }
      const status = res.statusCode ?? 0;
      const declared = Number(res.headers['content-length']);
      if (status >= 200 && status < 300 && Number.isFinite(declared) && declared > maxBytes) {
        res.destroy();
        throw new FetchTooLargeError(maxBytes, declared);
      }
      return { status, headers: flatHeaders(res), body: capped(res, maxBytes), url: url.toString(), address: target.address, redirects: hop };
    }
  }

  /** The checked address this hop connects to. */
  private async pin(url: URL, exempt: boolean, hop: number): Promise<ResolvedAddress> {
    const host = url.hostname;
    const origin = originOf(url);
    if (isIpLiteral(host)) {
      const verdict = classifyAddress(host);
      if (!verdict.public && !exempt) throw new FetchRefusedError(verdict.reason, `${verdict.address} is not a public address (${verdict.range})`, { origin, hop });
      const bare = host.replace(/^\[(.*)\]$/, '$1');
      return { address: bare, family: bare.includes(':') ? 6 : 4 };
    }
    let answers: readonly ResolvedAddress[];
    try {
      answers = await this.resolver(host);
    } catch (err) {
      throw networkError(err, `${host} could not be resolved`);
    }
    if (answers.length === 0) throw new FetchRefusedError(FetchRefusal.noAddress, `${host} has no address`, { origin, hop });
    if (!exempt) {
      for (const a of answers) {
        const verdict = classifyAddress(a.address);
        if (!verdict.public) throw new FetchRefusedError(verdict.reason, `${host} resolves to ${verdict.address}, not a public address (${verdict.range})`, { origin, hop });
      }
    }
    return answers[0]!;
  }

  private request(url: URL, target: ResolvedAddress, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
    const lookup = pinnedLookup(target);
    const https = url.protocol === 'https:';
    // one-off agent: a pooled socket could have been connected by someone else's lookup
    const agent = https ? new HttpsAgent({ keepAlive: false, lookup }) : new HttpAgent({ keepAlive: false, lookup });
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', headers, agent, lookup: lookup, signal }, resolve);
      req.on('error', (err) => reject(networkError(err, `${url.host} could not be fetched`)));
      req.end();
    });
  }
}

function lower(h: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function stripSecrets(url: URL, query: Readonly<Record<string, string>>): void {
  const secrets = new Set(Object.values(query));
  for (const [k, v] of [...url.searchParams]) if (secrets.has(v) || k in query) url.searchParams.delete(k, v);
}

function parseUrl(input: string, hop: number): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new FetchRefusedError(FetchRefusal.badUrl, 'not a URL', { hop });
  }
  return checkUrl(url, hop);
}

function checkUrl(url: URL, hop: number): URL {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchRefusedError(FetchRefusal.badUrl, `${url.protocol} URLs are not fetched`, { hop });
  if (url.username || url.password) throw new FetchRefusedError(FetchRefusal.userinfo, 'URLs with user:password@ are not fetched', { origin: url.origin, hop });
  return url;
}

/** The body behind a byte cap; network errors become {@link FetchFailedError}. */
function capped(res: IncomingMessage, maxBytes: number): Readable {
  let seen = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) cb(new FetchTooLargeError(maxBytes));
      else cb(null, chunk);
    },
  });
  // a consumer that attaches late must not turn a timeout into an uncaught 'error'
  out.on('error', () => undefined);
  res.on('error', (err) => out.destroy(networkError(err, 'download interrupted')));
  res.on('aborted', () => out.destroy(new FetchFailedError('download interrupted')));
  out.on('close', () => {
    if (!res.complete) res.destroy();
  });
  res.pipe(out);
  return out;
}

/**
 * The process's fetcher from its parsed {@link FetchEnv} and the media caps (MEDIA_DOWNLOAD_TIMEOUT_MS,
 * MEDIA_MAX_BYTES); refusals are logged on `log` and counted on `registry`.
 */
export function createGuardedFetcher(env: Pick<FetchEnv, 'FETCH_ALLOWED_ORIGINS' | 'FETCH_MAX_REDIRECTS'>, caps: { timeoutMs: number; maxBytes: number }, deps: { log?: Logger; registry?: Registry; resolver?: Resolver } = {}): GuardedFetcher {
  return new GuardedFetcher({
    allowedOrigins: env.FETCH_ALLOWED_ORIGINS,
    maxRedirects: env.FETCH_MAX_REDIRECTS,
    timeoutMs: caps.timeoutMs,
    maxBytes: caps.maxBytes,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.registry ? { refused: fetchRefusedCounter(deps.registry) } : {}),
    ...(deps.resolver ? { resolver: deps.resolver } : {}),
  });
}
