import OpenAI from 'openai';
import type { ChannelId, Logger } from '@switchboard/core';
import { DEFAULT_WHATSAPP_MEDIA_ORIGINS, GuardedFetcher, normalizeOrigin } from '@switchboard/fetch';
import type { RedisClient } from '@switchboard/queue';
import { limitsFrom, type MediaEnv } from './media.env.js';
import { Ffmpeg, selectFfmpeg } from './media.ffmpeg.js';
import { MediaResolver, type MediaCounter } from './media.resolver.js';
import { UrlMediaSource, WechatMediaSource, WhatsAppMediaSource, type AccessTokenProvider, type MediaSource } from './media.sources.js';
import { MediaTempStore } from './media.store.js';
import { OpenAITranscriber, TranscriptCache } from './media.transcribe.js';
import { WechatMediaPreparer, WhatsAppMediaPreparer, type WechatMediaUploadApi } from './media.outbound.js';

/** Everything {@link createMediaResolver} needs besides the media env. */
export interface MediaResolverDeps {
  log: Logger;
  redis: RedisClient;
  /** Redis key prefix for the transcript cache, e.g. `gatewayKeys(prefix).ns('media')`. */
  keyPrefix: string;
  counter?: MediaCounter;
  /** OPENAI_API_KEY / OPENAI_BASE_URL; absent = no transcription. */
  openai?: { apiKey: string; baseURL?: string; timeoutMs?: number };
  /**
   * The guarded fetcher of the process (FETCH_ALLOWED_ORIGINS, FETCH_MAX_REDIRECTS, refusal metric);
   * default: one with no allowed origins and the media size and time caps.
   */
  fetcher?: GuardedFetcher;
  /** WHATSAPP_GRAPH_URL + WHATSAPP_ACCESS_TOKEN (+ WHATSAPP_MEDIA_ORIGINS); absent = WhatsApp media not downloaded. */
  whatsapp?: { graphUrl: string; accessToken: string; mediaOrigins?: readonly string[] };
  /** WECHAT_API_URL + the channel's token cache (`WechatApiClient.tokens`). */
  wechat?: { apiUrl: string; tokens: AccessTokenProvider };
  /**
   * Chatwoot attachments are plain (redirecting) URLs. `url` (CHATWOOT_URL) is fetched whatever its
   * address; `headers` (e.g. `api_access_token` for a private storage) go to that origin only.
   */
  chatwoot?: { url?: string; headers?: Record<string, string> };
  /** Media sources by channel (from the channel modules); they win over the per-provider options above. */
  sources?: Partial<Record<ChannelId, MediaSource>>;
  /** The most each channel's provider lets us download in one request (the channel modules' `media.downloadMaxBytes`). */
  downloadMax?: Partial<Record<ChannelId, number>>;
  /** Shared with the outbound preparers, so one budget covers all of the process's temp files. */
  store?: MediaTempStore;
  ffmpeg?: Ffmpeg;
}

/** The temp store of a media env. */
export function createMediaStore(env: MediaEnv): MediaTempStore {
  return new MediaTempStore({ ...(env.MEDIA_TMP_DIR ? { dir: env.MEDIA_TMP_DIR } : {}), maxBytes: env.MEDIA_TMP_MAX_BYTES });
}

/**
 * The ffmpeg wrapper of a media env: MEDIA_FFMPEG_PATH, else the system's on `pathEnv` (the
 * process's PATH), else the npm-bundled one (see {@link selectFfmpeg}).
 */
export function createFfmpeg(env: MediaEnv, pathEnv: string | undefined = env.PATH): Ffmpeg {
  const selection = selectFfmpeg({
    ...(env.MEDIA_FFMPEG_PATH ? { configured: env.MEDIA_FFMPEG_PATH } : {}),
    ...(env.MEDIA_FFPROBE_PATH ? { configuredProbe: env.MEDIA_FFPROBE_PATH } : {}),
    pathEnv,
  });
  return new Ffmpeg({ selection, timeoutMs: env.MEDIA_PROCESS_TIMEOUT_MS });
}

/** A guarded fetcher with the media caps and nothing allowed beyond public addresses and provider origins. */
export function defaultMediaFetcher(env: MediaEnv): GuardedFetcher {
  return new GuardedFetcher({ timeoutMs: env.MEDIA_DOWNLOAD_TIMEOUT_MS, maxBytes: env.MEDIA_MAX_BYTES });
}

function chatwootSource(fetcher: GuardedFetcher, cw: MediaResolverDeps['chatwoot']): UrlMediaSource {
  const origin = cw?.url ? normalizeOrigin(new URL(cw.url).origin) : undefined;
  if (!origin) return new UrlMediaSource({ fetcher });
  return new UrlMediaSource({
    fetcher,
    providerOrigins: [origin],
    ...(cw?.headers ? { credentials: { name: 'chatwoot', origins: [origin], headers: cw.headers } } : {}),
  });
}

/** Builds the resolver of a worker from its parsed env and clients (composition root helper). */
export function createMediaResolver(env: MediaEnv, deps: MediaResolverDeps): MediaResolver {
  const fetcher = deps.fetcher ?? defaultMediaFetcher(env);
  const sources: Partial<Record<ChannelId, MediaSource>> = {
    chatwoot: chatwootSource(fetcher, deps.chatwoot),
  };
  if (deps.whatsapp) sources.whatsapp = new WhatsAppMediaSource({ ...deps.whatsapp, mediaOrigins: deps.whatsapp.mediaOrigins ?? DEFAULT_WHATSAPP_MEDIA_ORIGINS, fetcher });
  if (deps.wechat) sources['wechat-kf'] = new WechatMediaSource({ ...deps.wechat, fetcher });
  Object.assign(sources, deps.sources);
  const transcriber = deps.openai
    ? new OpenAITranscriber(
        new OpenAI({ apiKey: deps.openai.apiKey, ...(deps.openai.baseURL ? { baseURL: deps.openai.baseURL } : {}), timeout: deps.openai.timeoutMs ?? 120_000, maxRetries: 2 }),
        env.TRANSCRIBE_MODEL,
      )
    : undefined;
  return new MediaResolver({
    sources,
    ...(deps.downloadMax ? { downloadMax: deps.downloadMax } : {}),
    store: deps.store ?? createMediaStore(env),
    ffmpeg: deps.ffmpeg ?? createFfmpeg(env),
    ...(transcriber ? { transcriber, transcripts: new TranscriptCache(deps.redis, `${deps.keyPrefix}:transcript`, env.MEDIA_TRANSCRIPT_TTL_SEC) } : {}),
    limits: limitsFrom(env),
    transcribeVideo: env.MEDIA_TRANSCRIBE_VIDEO,
    processTimeoutMs: env.MEDIA_PROCESS_TIMEOUT_MS,
    documents: { memoryMb: env.MEDIA_PROCESS_MEMORY_MB, maxInflatedBytes: env.MEDIA_DOCUMENT_MAX_INFLATED_BYTES, maxPages: env.MEDIA_DOCUMENT_MAX_PAGES },
    log: deps.log,
    ...(deps.counter ? { counter: deps.counter } : {}),
  });
}

/** Builds the WhatsApp reply-media preparer (upload or link per MEDIA_WHATSAPP_OUTBOUND_MODE). */
export function createWhatsAppMediaPreparer(
  env: MediaEnv,
  deps: { graphUrl: string; accessToken: string; redis?: RedisClient; keyPrefix: string; log: Logger; store?: MediaTempStore; ffmpeg?: Ffmpeg; fetcher?: GuardedFetcher },
): WhatsAppMediaPreparer {
  return new WhatsAppMediaPreparer({
    graphUrl: deps.graphUrl,
    accessToken: deps.accessToken,
    mode: env.MEDIA_WHATSAPP_OUTBOUND_MODE,
    store: deps.store ?? createMediaStore(env),
    ffmpeg: deps.ffmpeg ?? createFfmpeg(env),
    ...(deps.redis ? { redis: deps.redis } : {}),
    keyPrefix: deps.keyPrefix,
    timeoutMs: env.MEDIA_DOWNLOAD_TIMEOUT_MS,
    fetcher: deps.fetcher ?? defaultMediaFetcher(env),
    log: deps.log,
  });
}

/** Builds the WeChat reply-media preparer over the channel's API client (`WechatApiClient`). */
export function createWechatMediaPreparer(
  env: MediaEnv,
  deps: { api: WechatMediaUploadApi; redis?: RedisClient; keyPrefix: string; log: Logger; store?: MediaTempStore; ffmpeg?: Ffmpeg; fetcher?: GuardedFetcher },
): WechatMediaPreparer {
  return new WechatMediaPreparer({
    api: deps.api,
    store: deps.store ?? createMediaStore(env),
    ffmpeg: deps.ffmpeg ?? createFfmpeg(env),
    ...(deps.redis ? { redis: deps.redis } : {}),
    keyPrefix: deps.keyPrefix,
    timeoutMs: env.MEDIA_DOWNLOAD_TIMEOUT_MS,
    fetcher: deps.fetcher ?? defaultMediaFetcher(env),
    log: deps.log,
  });
}
