import { z } from 'zod';
import { ApiErrorBody } from './api.js';
import type { ApiScope } from './scopes.js';

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the operation table (`operations.ts`): the
 * request parts are the zod schemas the routes parse with (converted by zod's own JSON Schema
 * output, which is OpenAPI 3.1's dialect), the answers the zod schemas the routes' views are typed
 * with. The same table gives each route its scope.
 */

type Json = Record<string, unknown>;

/** One answer of an operation: a description and, unless it has no body, its schema. */
export interface ApiResponseSpec {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Default `application/json`. */
  readonly contentType?: string;
  /** Response headers: name → description. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One route of the API, as the document shows it and as the scope check finds it. */
export interface ApiOperation {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI form: `/api/v1/messages/{id}`. */
  readonly path: string;
  /** The scope a key needs; `public` = served without a key. */
  readonly scope: ApiScope | 'public';
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly headers?: z.ZodObject;
  /** A JSON body, or one schema per content type. */
  readonly body?: z.ZodType | Readonly<Record<string, z.ZodType>>;
  /** The success answers by status. */
  readonly responses: Readonly<Record<number, ApiResponseSpec>>;
  /** Error statuses this route answers besides the common ones (400 with a request schema; 401, 403, 429, 503 with a key). */
  readonly errors?: readonly number[];
}

/** A success answer (`schema` absent = no body). */
export function answer(description: string, schema?: z.ZodType, more: Omit<ApiResponseSpec, 'description' | 'schema'> = {}): ApiResponseSpec {
  return { description, ...(schema ? { schema } : {}), ...more };
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: '`invalid_request` (with `details`), `invalid_json`',
  401: '`unauthorized`: no key, an unknown key, or a revoked key',
  403: '`forbidden`: the key lacks the scope of this route (the message names it)',
  404: '`not_found`',
  409: '`idempotency_conflict`, `opted_out` or `identifier_taken`',
  413: '`payload_too_large`',
  415: '`unsupported_format`',
  422: '`outside_window`, `unknown_customer` or `invalid_rows` (each refused row in `details`, path `row.<n>`)',
  429: '`rate_limited`: over `API_RATE_LIMIT` requests a minute for this key; `Retry-After` says when to retry',
  503: '`unavailable` or `store_unavailable`',
};

const RATE_HEADERS = {
  'RateLimit-Limit': 'requests a minute allowed to this key (when API_RATE_LIMIT is on)',
  'RateLimit-Remaining': 'requests left right now',
  'RateLimit-Reset': 'seconds until the full allowance is back',
};

/** Converts zod schemas and collects their named parts (`.meta({id})`) as components. */
class SchemaCollector {
  readonly components: Record<string, Json> = {};

  /** The JSON Schema of `schema` for a request (`input`) or an answer (`output`); named schemas become `$ref`s. */
  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const raw = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
    const defs = (raw.$defs ?? {}) as Record<string, Json>;
    delete raw.$defs;
    delete raw.$schema;
    const names = new Map<string, string>();
    for (const [id, def] of Object.entries(defs)) {
      let name = id;
      const text = JSON.stringify(def);
      if (this.components[name] && JSON.stringify(this.components[name]) !== text) name = `${id}Input`;
      names.set(id, name);
    }
    const rename = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(rename);
      if (v && typeof v === 'object') {
        return Object.fromEntries(
          Object.entries(v as Json).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith('#/$defs/') ? `#/components/schemas/${names.get(x.slice(8)) ?? x.slice(8)}` : rename(x)]),
        );
      }
      return v;
    };
    for (const [id, def] of Object.entries(defs)) {
      const name = names.get(id)!;
      const converted = rename(def) as Json;
      const existing = this.components[name];
      if (existing && JSON.stringify(existing) !== JSON.stringify(converted)) throw new Error(`OpenAPI: two different schemas are named "${name}"`);
      this.components[name] = converted;
    }
    return rename(raw) as Json;
  }

  /** Parameters (`in`: path, query, header) from the properties of an object schema. */
  parameters(schema: z.ZodObject, where: 'path' | 'query' | 'header'): Json[] {
    const json = this.convert(schema, 'input');
    const props = (json.properties ?? {}) as Record<string, Json>;
    const required = new Set((json.required ?? []) as string[]);
    return Object.entries(props).map(([name, s]) => {
      const { description, ...rest } = s;
      return { name, in: where, required: where === 'path' || required.has(name), ...(typeof description === 'string' ? { description } : {}), schema: rest };
    });
  }
}

/** Express's form of an OpenAPI path (`{id}` → `:id`). */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

/** The OpenAPI 3.1 document of `operations`. */
export function buildOpenApiDocument(operations: readonly ApiOperation[], info: { title: string; version: string; description: string }): Json {
  const c = new SchemaCollector();
  const errorRef = (() => {
    c.convert(ApiErrorBody, 'output');
    return { $ref: '#/components/schemas/Error' };
  })();
  const paths: Record<string, Record<string, Json>> = {};
  for (const op of operations) {
    const parameters = [
      ...(op.params ? c.parameters(op.params, 'path') : []),
      ...(op.query ? c.parameters(op.query, 'query') : []),
      ...(op.headers ? c.parameters(op.headers, 'header').map((p) => ({ ...p, name: String(p.name).replace(/(^|-)([a-z])/g, (_m, d: string, ch: string) => d + ch.toUpperCase()) })) : []),
    ];
    const bodies = op.body === undefined ? undefined : op.body instanceof z.ZodType ? { 'application/json': op.body } : op.body;
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.headers || op.scope !== 'public' ? { headers: Object.fromEntries(Object.entries({ ...(op.scope !== 'public' ? RATE_HEADERS : {}), ...(r.headers ?? {}) }).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: c.convert(r.schema, 'output') } } } : {}),
      };
    }
    const errors = new Set<number>(op.errors ?? []);
    if (op.params || op.query || op.headers || op.body) errors.add(400);
    if (op.scope !== 'public') [401, 403, 429, 503].forEach((s) => errors.add(s));
    for (const status of [...errors].sort((a, b) => a - b)) {
      responses[String(status)] = {
        description: ERROR_DESCRIPTIONS[status] ?? 'an error',
        ...(status === 429 ? { headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } } } : {}),
        content: { 'application/json': { schema: errorRef } },
      };
    }
    const operation: Json = {
      operationId: `${op.method}${op.path.replace(/^\/api\/v1/, '').replace(/\{([^}]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ''))}`,
      tags: [op.tag],
      summary: op.summary,
      description: [op.description, op.scope === 'public' ? 'No API key needed.' : `Scope: \`${op.scope}\`.`].filter(Boolean).join('\n\n'),
      ...(op.scope === 'public' ? { security: [] } : { 'x-scope': op.scope }),
      ...(parameters.length ? { parameters } : {}),
      ...(bodies ? { requestBody: { required: true, content: Object.fromEntries(Object.entries(bodies).map(([type, s]) => [type, { schema: c.convert(s, 'input') }])) } } : {}),
      responses,
    };
    const item = (paths[op.path] ??= {});
    if (item[op.method]) throw new Error(`OpenAPI: ${op.method.toUpperCase()} ${op.path} is listed twice`);
    item[op.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info,
    security: [{ bearerAuth: [] }],
    tags: [...new Set(operations.map((o) => o.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'the secret of a key of API_KEYS (`name:secret`)' } },
      schemas: Object.fromEntries(Object.entries(c.components).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    },
  };
}

/** The scope a request needs: the operation whose method and path match; a route not in the table needs `admin`. */
export function scopeResolver(operations: readonly ApiOperation[]): (method: string, path: string) => ApiScope {
  const compiled = operations.map((op) => ({
    method: op.method.toUpperCase(),
    scope: op.scope,
    // express matches case-insensitively and with or without a trailing slash
    re: new RegExp(`^${op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[A-Za-z0-9_]+\}/g, '[^/]+')}/?$`, 'i'),
  }));
  return (method, path) => {
    const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
    const hit = compiled.find((o) => o.method === m && o.re.test(path));
    return hit && hit.scope !== 'public' ? hit.scope : 'admin';
  };
}
