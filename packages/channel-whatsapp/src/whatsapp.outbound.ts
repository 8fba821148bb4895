import {
  fitParts,
  partCorrelation,
  utf16Length,
  ProviderRejectedError,
  type ConversationRef,
  type OutboundAdapter,
  type OutboundPart,
  type Reply,
  type ReplyMedia,
  type ReplyOption,
  type SendContext,
  type TemplateComponentValue,
  type TemplateValue,
} from '@switchboard/core';
import type { GraphClient, GraphMessage } from './whatsapp.client.js';
import { WINDOW_CLOSED } from './whatsapp.errors.js';
import { markdownToWhatsApp, splitForWhatsApp, WHATSAPP_TEXT_LIMIT } from './whatsapp.format.js';

const BUTTON_TITLE_MAX = 20;
const BUTTON_BODY_MAX = 1024;
const LIST_ROWS_MAX = 10;
const CAPTION_MAX = 1024;

const clip = (s: string, n: number) => (Array.from(s).length <= n ? s : Array.from(s).slice(0, n - 1).join('') + '…');

/**
 * Turns reply media into something WhatsApp accepts (an uploaded media id or a link) or, when the
 * file cannot be carried (type, size), a text with the link. Declared structurally so this package
 * does not depend on the media pipeline; `@switchboard/media`'s `WhatsAppMediaPreparer` fits.
 */
export interface WhatsAppMediaPreparerLike {
  prepare(
    phoneNumberId: string,
    media: ReplyMedia,
  ): Promise<
    | { kind: 'media'; sendAs: string; mediaId?: string; link?: string; caption?: string; filename?: string }
    | { kind: 'link'; text: string; reason: string }
  >;
}

/** Options of {@link createWhatsAppOutboundAdapter}. */
export interface WhatsAppOutboundOptions {
  client: GraphClient;
  /** Uploads/converts reply media; without it media are sent by link. */
  media?: WhatsAppMediaPreparerLike;
  /** `name:language` template sent once when a free-form send hits 131047 (WHATSAPP_FALLBACK_TEMPLATE). */
  fallbackTemplate?: { name: string; language: string };
  /**
   * How long a part whose send may have gone through waits for its status webhook before it is sent
   * again (WHATSAPP_RECONCILE_WAIT_MS, default 15 s).
   */
  reconcileWaitMs?: number;
  /** Parts per reply and the shortened note (WHATSAPP_MAX_PARTS_PER_REPLY, WHATSAPP_SHORTENED_NOTE). */
  render?: WhatsAppRenderOptions;
}

/** Parses WHATSAPP_REENGAGE_TEMPLATE / WHATSAPP_FALLBACK_TEMPLATE (`name:language`). */
export function parseTemplateSpec(spec: string | undefined): { name: string; language: string } | undefined {
  if (!spec) return undefined;
  const [name, language] = spec.split(':').map((s) => s.trim());
  if (!name || !language) throw new Error(`WHATSAPP_REENGAGE_TEMPLATE (or WHATSAPP_FALLBACK_TEMPLATE) must be "name:language", got "${spec}"`);
  return { name, language };
}

function optionsMessage(body: string, options: readonly ReplyOption[]): GraphMessage {
  const canUseButtons = options.length <= 3 && options.every((o) => Array.from(o.title).length <= BUTTON_TITLE_MAX);
  if (canUseButtons) {
    return {
      type: 'interactive',
      interactive: {
        type: 'button',
        body: { text: clip(body, BUTTON_BODY_MAX) },
        action: { buttons: options.map((o) => ({ type: 'reply', reply: { id: clip(o.id, 256), title: o.title } })) },
      },
    };
  }
  return {
    type: 'interactive',
    interactive: {
      type: 'list',
      body: { text: clip(body, WHATSAPP_TEXT_LIMIT) },
      action: {
        button: 'Choose',
        sections: [{ title: 'Options', rows: options.slice(0, LIST_ROWS_MAX).map((o) => ({ id: clip(o.id, 200), title: clip(o.title, 24), ...(o.description ? { description: clip(o.description, 72) } : {}) })) }],
      },
    },
  };
}

const textParameter = (v: TemplateValue) => ({ type: 'text', text: v.text, ...(v.name ? { parameter_name: v.name } : {}) });

/** A filled template component in the Graph API's `template.components` shape. */
function templateComponentToGraph(c: TemplateComponentValue): Record<string, unknown> {
  switch (c.part) {
    case 'header':
      return { type: 'header', parameters: c.values.map(textParameter) };
    case 'header-media':
      return { type: 'header', parameters: [{ type: c.kind, [c.kind]: { link: c.url, ...(c.kind === 'document' && c.filename ? { filename: c.filename } : {}) } }] };
    case 'body':
      return { type: 'body', parameters: c.values.map(textParameter) };
    case 'button': {
      const parameter = c.type === 'url' ? { type: 'text', text: c.value } : c.type === 'quick_reply' ? { type: 'payload', payload: c.value } : { type: 'coupon_code', coupon_code: c.value };
      return { type: 'button', sub_type: c.type, index: String(c.index), parameters: [parameter] };
    }
  }
}

function toGraph(part: OutboundPart): GraphMessage {
  switch (part.kind) {
    case 'text':
      return { type: 'text', text: { body: part.text, preview_url: false } };
    case 'options':
      return optionsMessage(part.text, part.options);
    case 'template':
      return {
        type: 'template',
        template: { name: part.name, language: { code: part.language }, ...(part.components?.length ? { components: part.components.map(templateComponentToGraph) } : {}) },
      };
    case 'media': {
      const m = part.media;
      const body: Record<string, unknown> = { link: m.url };
      if (m.caption && m.kind !== 'audio') body.caption = clip(markdownToWhatsApp(m.caption), CAPTION_MAX);
      if (m.kind === 'document' && m.filename) body.filename = m.filename;
      return { type: m.kind, [m.kind]: body };
    }
  }
}

/** How many messages one reply may become (WHATSAPP_MAX_PARTS_PER_REPLY) and the note that ends a shortened one. */
export interface WhatsAppRenderOptions {
  maxParts: number;
  shortenedNote: string;
}

export const DEFAULT_WHATSAPP_RENDER: WhatsAppRenderOptions = { maxParts: 5, shortenedNote: '(message shortened)' };

/**
 * Renders a reply into WhatsApp parts: formatted, split at 4096, options as buttons/list, media after
 * text. At most `maxParts` parts: a longer answer keeps its beginning and ends with the shortened
 * note; media only use the parts left over (a 300 KB answer used to become 77 messages).
 */
export function renderForWhatsApp(reply: Reply, opts: WhatsAppRenderOptions = DEFAULT_WHATSAPP_RENDER): OutboundPart[] {
  if (reply.template) return [{ kind: 'template', name: reply.template.name, language: reply.template.language, ...(reply.template.components?.length ? { components: reply.template.components } : {}) }];
  const maxParts = Math.max(1, opts.maxParts);
  const parts: OutboundPart[] = [];
  const options = reply.options ?? [];
  const textBudget = Math.max(1, maxParts - (options.length > 0 ? 1 : 0));
  const all = reply.text.trim() ? splitForWhatsApp(markdownToWhatsApp(reply.text)) : [];
  const chunks = fitParts(all, textBudget, WHATSAPP_TEXT_LIMIT, utf16Length, opts.shortenedNote);
  if (options.length > 0) {
    const tail = chunks.length > 0 && Array.from(chunks[chunks.length - 1] ?? '').length <= BUTTON_BODY_MAX ? chunks.pop() : undefined;
    for (const c of chunks) parts.push({ kind: 'text', text: c });
    // more than 10 options cannot be a list: numbered text keeps every option visible
    if (options.length > LIST_ROWS_MAX) {
      parts.push({ kind: 'text', text: [tail ?? '', ...options.map((o, i) => `${i + 1}. ${o.title}`)].filter(Boolean).join('\n') });
    } else {
      parts.push({ kind: 'options', text: tail ?? 'Please choose:', options });
    }
  } else {
    for (const c of chunks) parts.push({ kind: 'text', text: c });
  }
  for (const media of (reply.media ?? []).slice(0, Math.max(0, maxParts - parts.length))) parts.push({ kind: 'media', media });
  return parts.slice(0, maxParts);
}

async function preparedMedia(preparer: WhatsAppMediaPreparerLike, phoneNumberId: string, media: ReplyMedia): Promise<GraphMessage> {
  const p = await preparer.prepare(phoneNumberId, media);
  if (p.kind === 'link') return { type: 'text', text: { body: markdownToWhatsApp(p.text), preview_url: true } };
  const body: Record<string, unknown> = p.mediaId ? { id: p.mediaId } : { link: p.link };
  if (p.caption && p.sendAs !== 'audio' && p.sendAs !== 'sticker') body.caption = clip(markdownToWhatsApp(p.caption), CAPTION_MAX);
  if (p.filename && p.sendAs === 'document') body.filename = p.filename;
  return { type: p.sendAs, [p.sendAs]: body };
}

/**
 * The WhatsApp outbound adapter. On 131047 (window closed) it sends the configured template once
 * and then fails the reply with the reason; without a template it fails with the reason.
 */
export function createWhatsAppOutboundAdapter(opts: WhatsAppOutboundOptions): OutboundAdapter {
  return {
    channel: 'whatsapp',
    // /messages has no idempotency key: a part that may have been accepted is confirmed by its
    // status webhook (biz_opaque_callback_data = `<outboundId>#<part>`) before it is sent again
    reconcile: { waitMs: opts.reconcileWaitMs ?? 15_000 },
    render: (reply: Reply) => renderForWhatsApp(reply, opts.render ?? DEFAULT_WHATSAPP_RENDER),
    async sendPart(ref: ConversationRef, part: OutboundPart, ctx: SendContext) {
      const address = ref.address ?? ref.userId;
      const callbackData = partCorrelation(ctx.outboundId, ctx.partIndex);
      try {
        const message = part.kind === 'media' && opts.media ? await preparedMedia(opts.media, ref.account, part.media) : toGraph(part);
        const id = await opts.client.sendMessage(ref.account, address, message, { callbackData });
        return { providerMessageId: id };
      } catch (err) {
        if (err instanceof ProviderRejectedError && err.providerCode === String(WINDOW_CLOSED) && opts.fallbackTemplate && part.kind !== 'template') {
          const tpl = opts.fallbackTemplate;
          await opts.client.sendMessage(ref.account, address, toGraph({ kind: 'template', name: tpl.name, language: tpl.language }), {
            callbackData: partCorrelation(ctx.outboundId, 'fallback'),
          });
          throw new ProviderRejectedError(`${err.message}; fallback template ${tpl.name}:${tpl.language} sent instead`, {
            providerCode: WINDOW_CLOSED,
            cause: err,
          });
        }
        throw err;
      }
    },
    async turnStarted(ref: ConversationRef, lastProviderMessageId: string | undefined) {
      if (lastProviderMessageId) await opts.client.markReadWithTyping(ref.account, lastProviderMessageId);
    },
  };
}
