import { conversationId, type ChannelId, type ConversationRef, type InboundMessage } from '@switchboard/core';
import type { WorkerMediaToolkit } from '@switchboard/channel-runtime';
import { createMediaResolver, FFMPEG_HINT, mediaCounter, type MediaSource } from '@switchboard/media';
import { accountFor } from './channels.js';
import type { WorkerDeps } from './deps.js';
import { createLinkReader, DEFAULT_LINK_LIMITS, type LinkReaderLimits } from './link-reader.js';

/** Enriches a turn's customer messages (transcripts, images, document text) before the agent runs. */
export type MediaStep = (messages: InboundMessage[], ref: ConversationRef) => Promise<InboundMessage[]>;

/** Speech-to-text credentials (the agent's OpenAI-compatible endpoint). */
export interface SpeechSettings {
  readonly OPENAI_API_KEY?: string | undefined;
  readonly OPENAI_BASE_URL?: string | undefined;
}

/**
 * Builds the turn's media step (and the reading of links customers send, see {@link createLinkReader}): each channel's media source (from its module: provider downloads
 * with the channel's credentials, or credential-free attachments), speech-to-text when
 * OPENAI_API_KEY is set. With MEDIA_ENABLED=false only links are read. Every download goes through
 * `deps.fetcher` (public addresses, the provider's own configured origin, or
 * FETCH_ALLOWED_ORIGINS; tokens only to their provider). The step never rejects for a media
 * problem: failures land in `enrichment.error` (logged, counted in `sb_media_enrichments_total`).
 */
export function createMediaStep(deps: Pick<WorkerDeps, 'log' | 'redis' | 'registry' | 'channels' | 'fetcher' | 'keys'>, speech: SpeechSettings, media: WorkerMediaToolkit, links: LinkReaderLimits = DEFAULT_LINK_LIMITS): MediaStep | undefined {
  const env = media.env;
  // pages customers send (typed URLs, WeChat link messages) are read whether or not media is
  const readLinks = createLinkReader(deps, links);
  if (!env.MEDIA_ENABLED) {
    deps.log.warn('media pipeline disabled (MEDIA_ENABLED=false): voice, images and files reach the agent unread');
    return (messages) => readLinks(messages);
  }
  const { ffmpeg } = media;
  void Promise.all([ffmpeg.available(), ffmpeg.probeAvailable()]).then(([ok, probe]) => {
    // OGG/Opus, MP3, M4A, WAV and WebM are transcribed without ffmpeg; it converts AMR and video sound
    if (ok) deps.log.info('ffmpeg selected', { ...ffmpeg.describe(), ffprobe: probe ? ffmpeg.ffprobePath : 'missing (durations unknown)' });
    else deps.log.warn('ffmpeg not found: AMR voice and video sound will not be transcribed (OGG, MP3, M4A, WAV, WebM still are)', { hint: FFMPEG_HINT, ...ffmpeg.describe() });
  });
  const apiKey = speech.OPENAI_API_KEY;
  const baseURL = speech.OPENAI_BASE_URL;
  if (!apiKey) deps.log.warn('speech-to-text disabled: OPENAI_API_KEY is not set; voice notes are reported to the agent as unread');

  const downloadMax: Partial<Record<ChannelId, number>> = {};
  for (const id of Object.keys(deps.channels) as ChannelId[]) downloadMax[id] = deps.channels[id].module.media.downloadMaxBytes;
  // each account downloads with its own credentials; a channel that is off may still read credential-free media
  const sources = (ref: ConversationRef): MediaSource | undefined => accountFor(deps, ref)?.mediaSource ?? deps.channels[ref.channel].unconfiguredMediaSource;
  const resolver = createMediaResolver(env, {
    log: deps.log,
    redis: deps.redis,
    keys: media.keys,
    counter: mediaCounter(deps.registry),
    store: media.store,
    ffmpeg,
    sources,
    downloadMax,
    ...(apiKey ? { openai: { apiKey, ...(baseURL ? { baseURL } : {}) } } : {}),
  });
  return async (messages, ref) => readLinks(await resolver.enrich(messages, { ref, conversationId: conversationId(ref) }));
}
