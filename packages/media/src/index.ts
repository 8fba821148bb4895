/**
 * The media pipeline: inbound media → transcripts, image data URLs, document text and notes for the
 * agent ({@link MediaResolver}); outbound reply media → provider uploads or link fallbacks
 * ({@link MediaUploadPreparer}, {@link UploadMediaPreparer}). Channel knowledge (sources, rules,
 * uploaders) comes from the channel modules. Runs in workers only.
 */
export * from './media.env.js';
export * from './media.errors.js';
export * from './media.mime.js';
export * from './media.policy.js';
export * from './media.store.js';
export * from './media.http.js';
export * from './media.sources.js';
export * from './media.ffmpeg.js';
export * from './media.pdf.js';
export * from './media.silk.js';
export * from './media.duration.js';
export * from './media.transcribe.js';
export * from './media.resolver.js';
export * from './media.outbound.js';
export * from './media.metrics.js';
export * from './media.compose.js';
