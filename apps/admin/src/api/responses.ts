import { z } from 'zod';
import { ChannelId } from '@switchboard/core';

/**
 * The answers of the API routes as zod schemas: the OpenAPI document's response schemas, and the
 * types the routes' view functions return (so a view that drifts from its schema does not compile).
 * The contract's fields are exact; fields the console draws beyond them are listed where they are
 * stable and left open (`catchall`) where they are detail.
 */

const Time = z.string().meta({ description: 'ISO 8601', format: 'date-time' });

export const PersonViewSchema = z
  .object({
    id: z.string(),
    account: z.string(),
    role: z.string(),
    name: z.string().optional(),
    externalId: z.string().optional().meta({ description: "the person's id in the business's own systems" }),
    language: z.string().optional(),
    attributes: z.record(z.string(), z.unknown()),
    identifiers: z.array(z.object({ kind: z.string().meta({ description: 'phone | wa_id | username | wechat_external_userid | telegram_id' }), value: z.string().meta({ description: 'normalized' }) })),
    source: z.string().meta({ description: 'file | api | import | verification' }),
    createdAt: Time,
    updatedAt: Time,
  })
  .meta({ id: 'Person' });
export type PersonView = z.input<typeof PersonViewSchema>;

export const PersonList = z.object({ items: z.array(PersonViewSchema), next: z.string().optional().meta({ description: 'pass back as `cursor` for the next page' }) }).meta({ id: 'PersonList' });

export const PeopleImportResult = z.object({ imported: z.number().int(), created: z.number().int(), updated: z.number().int() }).meta({ id: 'PeopleImportResult' });
const Channel = z.string().meta({ description: ChannelId.options.join(' | ') });

export const KnowledgeDocumentView = z
  .object({
    id: z.string(),
    title: z.string(),
    status: z.enum(['pending', 'ready', 'failed']),
    chunks: z.number().int(),
    source: z.enum(['file', 'url', 'sitemap', 'text']),
    url: z.string().optional(),
    filename: z.string().optional(),
    account: z.string().optional().meta({ description: 'absent = the document serves every account' }),
    error: z.string().optional(),
    createdAt: Time,
    updatedAt: Time,
  })
  .meta({ id: 'KnowledgeDocument' });
export type KnowledgeDocumentView = z.input<typeof KnowledgeDocumentView>;

export const KnowledgeDocumentList = z.object({ items: z.array(KnowledgeDocumentView), next: z.string().optional().meta({ description: 'pass back as `cursor` for the next page' }) }).meta({ id: 'KnowledgeDocumentList' });

export const KnowledgeDocumentAccepted = z.object({ id: z.string(), status: z.literal('pending') }).meta({ id: 'KnowledgeDocumentAccepted' });

export const KnowledgeSearchResult = z
  .object({
    mode: z.string().meta({ description: 'hybrid (embeddings + full text) or fulltext' }),
    hits: z.array(
      z.object({
        documentId: z.string(),
        title: z.string(),
        heading: z.string().nullable().optional(),
        text: z.string(),
        score: z.number(),
        url: z.string().optional(),
        similarity: z.number().optional(),
      }),
    ),
  })
  .meta({ id: 'KnowledgeSearchResult' });

export const UnansweredQuestionView = z
  .object({ id: z.string(), account: z.string(), question: z.string(), count: z.number().int(), firstAskedAt: Time, lastAskedAt: Time, channel: z.string().optional() })
  .meta({ id: 'UnansweredQuestion' });
export type UnansweredQuestionView = z.input<typeof UnansweredQuestionView>;

export const UnansweredQuestionList = z.object({ items: z.array(UnansweredQuestionView) }).meta({ id: 'UnansweredQuestionList' });

export const AnswerPreview = z
  .object({
    account: z.string(),
    channel: Channel,
    agent: z.enum(['online', 'offline']),
    source: z.string(),
    reply: z.object({ text: z.string() }).catchall(z.unknown()).nullable(),
    citations: z.array(z.unknown()),
  })
  .catchall(z.unknown())
  .meta({ id: 'AnswerPreview' });

export const ConversationSummaryView = z
  .object({
    id: z.string(),
    channel: Channel,
    account: z.string(),
    customer: z.object({ id: z.string(), name: z.string().optional() }),
    lastMessageAt: Time,
    messageCount: z.number().int().meta({ description: 'messages of both directions' }),
    owner: z.enum(['bot', 'human']),
  })
  .meta({ id: 'ConversationSummary' });
export type ConversationSummaryView = z.input<typeof ConversationSummaryView>;

export const ConversationList = z.object({ items: z.array(ConversationSummaryView), next: z.string().optional().meta({ description: 'pass back as `cursor` for the next page' }) }).meta({ id: 'ConversationList' });

export const TimelineMessageView = z
  .object({
    id: z.string(),
    direction: z.enum(['in', 'out']),
    author: z.enum(['customer', 'bot', 'human']),
    text: z.string(),
    at: Time,
    status: z.string().optional().meta({ description: 'of a sent message: sent, delivered, read or failed' }),
    error: z.object({ code: z.number().optional(), title: z.string().optional() }).optional(),
    origin: z.string().optional(),
    contentType: z.string(),
    media: z.unknown().optional(),
    turnId: z.string().optional(),
  })
  .meta({ id: 'TimelineMessage' });

export const ConversationDetailView = z
  .object({
    ...ConversationSummaryView.shape,
    firstMessageAt: Time,
    handoffReason: z.string().optional(),
    hadHuman: z.boolean(),
    messages: z.array(TimelineMessageView),
    events: z.array(z.object({ kind: z.string(), at: Time, reason: z.string().optional(), detail: z.record(z.string(), z.unknown()) })),
    turns: z.array(z.object({ id: z.string(), at: Time }).catchall(z.unknown())),
  })
  .meta({ id: 'ConversationDetail' });
export type ConversationDetailView = z.input<typeof ConversationDetailView>;

export const ExportLineView = z
  .object({ conversationId: z.string(), channel: Channel, account: z.string(), customerId: z.string(), direction: z.enum(['in', 'out']), author: z.enum(['customer', 'bot', 'human']), text: z.string(), at: Time })
  .catchall(z.unknown())
  .meta({ id: 'ExportLine', description: 'one line of the JSON Lines export' });

const Percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable() });
export const AnalyticsReportView = z
  .object({
    from: Time,
    to: Time,
    byChannel: z.record(z.string(), z.object({ conversations: z.number(), messagesIn: z.number(), messagesOut: z.number() })),
    containmentRate: z.number().nullable(),
    handoffRate: z.number().nullable(),
    firstResponseMs: Percentiles,
    llm: z.object({ tokensIn: z.number(), tokensOut: z.number(), costUsd: z.number() }),
  })
  .catchall(z.unknown())
  .meta({ id: 'AnalyticsReport', description: 'the contract fields, plus detail the console draws (totals, resolution, days, …)' });

export const TemplateCatalogue = z
  .object({ account: z.string(), wabaId: z.string(), syncedAt: Time, templates: z.array(z.object({ name: z.string(), language: z.string(), status: z.string(), category: z.string().optional() }).catchall(z.unknown())) })
  .meta({ id: 'TemplateCatalogue' });
