import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { API_OPERATIONS } from './operations';
import { openApiDocument } from './docs.routes';
import { scopeResolver } from './openapi';

type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>; 'x-scope'?: string; security?: unknown[] }>> };

const doc = openApiDocument(API_OPERATIONS) as unknown as Doc;
const COMMITTED = resolve(__dirname, '../../../../packages/client/openapi.json');

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 (checked by @seriousme/openapi-schema-validator)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sb-openapi-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const cli = join(dirname(require.resolve('@seriousme/openapi-schema-validator/package.json')), 'bin', 'validate-api-cli.js');
    const run = spawnSync(process.execPath, [cli, file], { encoding: 'utf8' });
    expect(doc.openapi).toBe('3.1.0');
    expect(JSON.parse(run.stdout)).toEqual({ valid: true });
  });

  it('lists every route of the contract with its scope, and error bodies on every error status', () => {
    const contract = [
      'post /api/v1/messages',
      'get /api/v1/messages/{id}',
      'get /api/v1/templates',
      'post /api/v1/knowledge/documents',
      'get /api/v1/knowledge/documents',
      'get /api/v1/knowledge/documents/{id}',
      'delete /api/v1/knowledge/documents/{id}',
      'post /api/v1/knowledge/search',
      'get /api/v1/conversations',
      'get /api/v1/conversations/{id}',
      'get /api/v1/export',
      'delete /api/v1/customers/{channel}/{customerId}',
      'get /api/v1/analytics',
    ];
    const listed = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`));
    expect(listed).toEqual(expect.arrayContaining(contract));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        expect([method, path, isPublic || ['send', 'read', 'knowledge', 'people', 'admin'].includes(op['x-scope'] ?? '')]).toEqual([method, path, true]);
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) >= 400) expect([method, path, status, r.content?.['application/json']?.schema.$ref]).toEqual([method, path, status, '#/components/schemas/Error']);
        }
        if (!isPublic) expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
      }
    }
  });

  it('is the document the client package was generated from (run `pnpm api:client` after changing a route)', () => {
    expect(JSON.parse(readFileSync(COMMITTED, 'utf8'))).toEqual(doc);
  });
});

describe('scopeResolver', () => {
  const scopeOf = scopeResolver(API_OPERATIONS);
  it('finds the scope of a request as express routes it (any case, trailing slash, HEAD as GET)', () => {
    expect(scopeOf('POST', '/api/v1/messages')).toBe('send');
    expect(scopeOf('POST', '/api/v1/messages/')).toBe('send');
    expect(scopeOf('GET', '/api/v1/messages/api-abc')).toBe('send');
    expect(scopeOf('HEAD', '/API/V1/Conversations')).toBe('read');
    expect(scopeOf('DELETE', '/api/v1/knowledge/documents/d1')).toBe('knowledge');
    expect(scopeOf('DELETE', '/api/v1/customers/telegram/42')).toBe('admin');
  });
  it('asks admin for a route that is not in the table, or a method a path does not have', () => {
    expect(scopeOf('GET', '/api/v1/unknown')).toBe('admin');
    expect(scopeOf('PUT', '/api/v1/messages')).toBe('admin');
    expect(scopeOf('GET', '/api/v1/messages/a/b')).toBe('admin');
  });
});
