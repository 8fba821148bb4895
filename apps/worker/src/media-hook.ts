import { conversationId, loadConfig, type ConversationRef, type InboundMessage } from '@switchboard/core';
import { resolveApiSettings, WechatApiClient, wechatEnv } from '@switchboard/channel-wechat-kf/outbound';
import { fetchEnv } from '@switchboard/fetch';
import { createFfmpeg, createMediaResolver, createMediaStore, FFMPEG_HINT, mediaCounter, mediaEnv } from '@switchboard/media';
import type { WorkerDeps } from './deps.js';

/** Enriches a turn's customer messages (transcripts, images, document text) before the agent runs. */
export type MediaStep = (messages: InboundMessage[], ref: ConversationRef) => Promise<InboundMessage[]>;

/**
 * Builds the turn's media step from the worker's parsed env: WhatsApp downloads when
 * WHATSAPP_ACCESS_TOKEN is set, WeChat when WECHAT_CORP_ID/WECHAT_SECRET are, Chatwoot always
 * (attachment URLs need no credentials), speech-to-text when OPENAI_API_KEY is. Returns undefined
 * when MEDIA_ENABLED=false. Every download goes through `deps.fetcher` (public addresses, the
 * provider's own configured origin, or FETCH_ALLOWED_ORIGINS; tokens only to their provider). The step never rejects for a media problem: failures land in
 * `enrichment.error` (logged, counted in `sb_media_enrichments_total`).
 */
export function createMediaStep(deps: WorkerDeps): MediaStep | undefined {
  const source = deps.env as Record<string, string | undefined>;
  const env = loadConfig(mediaEnv, source);
  if (!env.MEDIA_ENABLED) {
    deps.log.warn('media pipeline disabled (MEDIA_ENABLED=false): voice, images and files reach the agent unread');
    return undefined;
  }
  const str = (k: string): string | undefined => {
    const v = deps.env[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const ffmpeg = createFfmpeg(env);
  void Promise.all([ffmpeg.available(), ffmpeg.probeAvailable()]).then(([ok, probe]) => {
    // OGG/Opus, MP3, M4A, WAV and WebM are transcribed without ffmpeg; it converts AMR and video sound
    if (ok) deps.log.info('ffmpeg selected', { ...ffmpeg.describe(), ffprobe: probe ? ffmpeg.ffprobePath : 'missing (durations unknown)' });
    else deps.log.warn('ffmpeg not found: AMR voice and video sound will not be transcribed (OGG, MP3, M4A, WAV, WebM still are)', { hint: FFMPEG_HINT, ...ffmpeg.describe() });
  });

  const waToken = str('WHATSAPP_ACCESS_TOKEN');
  const waGraph = str('WHATSAPP_GRAPH_URL');
  const fetching = loadConfig(fetchEnv, source);
  const chatwootUrl = str('CHATWOOT_URL');
  const wechat = resolveApiSettings(loadConfig(wechatEnv, source));
  const apiKey = str('OPENAI_API_KEY');
  const baseURL = str('OPENAI_BASE_URL');
  if (!apiKey) deps.log.warn('speech-to-text disabled: OPENAI_API_KEY is not set; voice notes are reported to the agent as unread');

  const resolver = createMediaResolver(env, {
    log: deps.log,
    redis: deps.redis,
    keys: deps.keys.media,
    counter: mediaCounter(deps.registry),
    store: createMediaStore(env),
    ffmpeg,
    fetcher: deps.fetcher,
    ...(chatwootUrl ? { chatwoot: { url: chatwootUrl } } : {}),
    ...(apiKey ? { openai: { apiKey, ...(baseURL ? { baseURL } : {}) } } : {}),
    ...(waToken && waGraph ? { whatsapp: { graphUrl: waGraph, accessToken: waToken, mediaOrigins: fetching.WHATSAPP_MEDIA_ORIGINS } } : {}),
    ...(wechat.enabled
      ? { wechat: { apiUrl: wechat.settings.apiUrl, tokens: new WechatApiClient({ settings: wechat.settings, redis: deps.redis, keys: deps.keys, log: deps.log }).tokens } }
      : {}),
  });
  return (messages, ref) => resolver.enrich(messages, { ref, conversationId: conversationId(ref) });
}
