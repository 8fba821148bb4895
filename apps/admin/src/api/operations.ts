import { z } from 'zod';
import { answer, type ApiOperation } from './openapi.js';
import { MessageAccepted, MessageBody, MessageHeaders, MessageIdParams, MessageView } from './messages.routes.js';
import { TemplatesQuery } from './templates.routes.js';
import { BroadcastBody, BroadcastHeaders, BroadcastIdParams, BroadcastView } from './broadcasts.routes.js';
import { DocumentIdParams, DocumentListQuery, SearchBody, TextBody, UploadForm, UrlBody } from './knowledge.routes.js';
import { PreviewBody, QuestionIdParams, UnansweredQuery } from './knowledge.answers.routes.js';
import { ConversationIdParams, ConversationListQuery, ExportQuery } from './conversations.routes.js';
import { AnalyticsQuery } from './analytics.routes.js';
import { CustomerParams, CustomerQuery } from './customers.routes.js';
import { ApiKeyList, ApiKeyView, KeyNameParams } from './keys.routes.js';
import * as R from './responses.js';

/**
 * Every route of `/api/v1`, one entry each: the OpenAPI document is built from this table, and
 * each request's scope is looked up in it (a route missing here needs `admin`). Adding a route to
 * the API = adding its entry here, with the zod schemas its handler parses with.
 */
export const API_OPERATIONS: readonly ApiOperation[] = [
  { method: 'post', path: '/api/v1/messages', scope: 'send', tag: 'Messages', summary: "Send a message to a customer's conversation", description: 'Exactly once per `Idempotency-Key`: the same key and body again answers 200 with the same id and sends nothing twice; the same key with another body → 409 `idempotency_conflict`. WhatsApp free-form outside the customer-service window → 422 `outside_window`; an opted-out customer → 409 `opted_out`.', headers: MessageHeaders, body: MessageBody, responses: { 202: answer('queued', MessageAccepted), 200: answer('a replay of an earlier request: the same message', MessageAccepted) }, errors: [409, 413, 422] },
  { method: 'get', path: '/api/v1/messages/{id}', scope: 'send', tag: 'Messages', summary: 'The status of a message sent through the API', params: MessageIdParams, responses: { 200: answer('the status (ids are kept 7 days)', MessageView) }, errors: [404] },
  { method: 'get', path: '/api/v1/templates', scope: 'send', tag: 'Templates', summary: "The WhatsApp templates of an account (synced from the provider)", query: TemplatesQuery, responses: { 200: answer('the catalogue', R.TemplateCatalogue) }, errors: [404] },
  { method: 'post', path: '/api/v1/broadcasts', scope: 'send', tag: 'Broadcasts', summary: 'Send one template to many recipients, paced behind replies', description: 'Validated against the template catalogue for every recipient before anything is stored (422 `invalid_template` with `details`); opted-out recipients are skipped. Exactly once per `Idempotency-Key`.', headers: BroadcastHeaders, body: BroadcastBody, responses: { 202: answer('accepted (scheduled or running)', BroadcastView), 200: answer('a replay of an earlier request: the same broadcast', BroadcastView) }, errors: [409, 413, 422] },
  { method: 'get', path: '/api/v1/broadcasts/{id}', scope: 'send', tag: 'Broadcasts', summary: 'A broadcast and its progress counts', params: BroadcastIdParams, responses: { 200: answer('the broadcast', BroadcastView) }, errors: [404] },
  { method: 'post', path: '/api/v1/broadcasts/{id}/cancel', scope: 'send', tag: 'Broadcasts', summary: 'Stop what is not sent yet', params: BroadcastIdParams, responses: { 200: answer('the broadcast, cancelled', BroadcastView) }, errors: [404, 409] },
  { method: 'post', path: '/api/v1/knowledge/documents', scope: 'knowledge', tag: 'Knowledge', summary: 'Add a document: an upload, a URL (page, sitemap or crawl) or a text', body: { 'application/json': z.union([UrlBody, TextBody]), 'multipart/form-data': UploadForm }, responses: { 202: answer('recorded; a worker reads and indexes it', R.KnowledgeDocumentAccepted, { headers: { Location: 'the document' } }) }, errors: [413, 415] },
  { method: 'get', path: '/api/v1/knowledge/documents', scope: 'knowledge', tag: 'Knowledge', summary: 'List documents, newest first', query: DocumentListQuery, responses: { 200: answer('a page of documents', R.KnowledgeDocumentList) } },
  { method: 'get', path: '/api/v1/knowledge/documents/{id}', scope: 'knowledge', tag: 'Knowledge', summary: 'One document', params: DocumentIdParams, responses: { 200: answer('the document', R.KnowledgeDocumentView) }, errors: [404] },
  { method: 'delete', path: '/api/v1/knowledge/documents/{id}', scope: 'knowledge', tag: 'Knowledge', summary: 'Delete a document and its chunks', params: DocumentIdParams, responses: { 204: answer('deleted') }, errors: [404] },
  { method: 'post', path: '/api/v1/knowledge/search', scope: 'knowledge', tag: 'Knowledge', summary: 'Search the knowledge base', body: SearchBody, responses: { 200: answer('the best passages', R.KnowledgeSearchResult) } },
  { method: 'get', path: '/api/v1/knowledge/unanswered', scope: 'knowledge', tag: 'Knowledge', summary: 'Questions the knowledge base could not answer', query: UnansweredQuery, responses: { 200: answer('most recently asked first', R.UnansweredQuestionList) } },
  { method: 'delete', path: '/api/v1/knowledge/unanswered/{id}', scope: 'knowledge', tag: 'Knowledge', summary: 'Dismiss an unanswered question', params: QuestionIdParams, responses: { 204: answer('dismissed') }, errors: [404] },
  { method: 'post', path: '/api/v1/knowledge/preview', scope: 'knowledge', tag: 'Knowledge', summary: 'The answer the agent would give to a test question', body: PreviewBody, responses: { 200: answer('the preview', R.AnswerPreview) } },
  { method: 'get', path: '/api/v1/conversations', scope: 'read', tag: 'Conversations', summary: 'List recorded conversations, newest activity first', query: ConversationListQuery, responses: { 200: answer('a page of conversations', R.ConversationList) } },
  { method: 'get', path: '/api/v1/conversations/{id}', scope: 'read', tag: 'Conversations', summary: 'One conversation with its timeline', params: ConversationIdParams, responses: { 200: answer('the conversation', R.ConversationDetailView) }, errors: [404] },
  { method: 'get', path: '/api/v1/export', scope: 'read', tag: 'Conversations', summary: 'Every message in a range, one JSON object a line', description: 'Default range: the last 30 days.', query: ExportQuery, responses: { 200: answer('JSON Lines (each line one ExportLine)', R.ExportLineView, { contentType: 'application/x-ndjson' }) } },
  { method: 'get', path: '/api/v1/analytics', scope: 'read', tag: 'Analytics', summary: 'Figures of the record over a range', description: '`from`/`to`: an ISO 8601 date (a UTC day, included) or a date-time with offset; default: the 30 days before `to` (default now).', query: AnalyticsQuery, responses: { 200: answer('the report', R.AnalyticsReportView) } },
  { method: 'delete', path: '/api/v1/customers/{channel}/{customerId}', scope: 'admin', tag: 'Customers', summary: "Erase a customer's data (transcripts, memory, profile, mappings)", params: CustomerParams, query: CustomerQuery, responses: { 204: answer('erased (also when nothing was known)') } },
  { method: 'get', path: '/api/v1/keys', scope: 'admin', tag: 'Keys', summary: 'The API keys (names and scopes, never secrets) and whether each is revoked', responses: { 200: answer('the keys of API_KEYS', ApiKeyList) } },
  { method: 'post', path: '/api/v1/keys/{name}/revoke', scope: 'admin', tag: 'Keys', summary: 'Revoke a key now, in every process (until restored)', description: "Answers 401 to the key's next request. A key cannot revoke itself. The revocation names the key's current secret: a new secret for the name in API_KEYS is not revoked.", params: KeyNameParams, responses: { 200: answer('the key', ApiKeyView) }, errors: [404] },
  { method: 'post', path: '/api/v1/keys/{name}/restore', scope: 'admin', tag: 'Keys', summary: 'Restore a revoked key', params: KeyNameParams, responses: { 200: answer('the key', ApiKeyView) }, errors: [404] },
  { method: 'get', path: '/api/v1/openapi.json', scope: 'public', tag: 'Meta', summary: 'This document (OpenAPI 3.1)', responses: { 200: answer('the document') } },
];
