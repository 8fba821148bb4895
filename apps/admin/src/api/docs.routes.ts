import { dirname, resolve } from 'node:path';
import express, { type Router } from 'express';
import { buildOpenApiDocument, type ApiOperation } from './openapi.js';

/**
 * The API's description, served without a key: `GET /api/v1/openapi.json` (the OpenAPI 3.1
 * document) and `GET /api/docs` (Swagger UI from the `swagger-ui-dist` package, served by this app:
 * no outside origin, scripts as files under the admin's CSP).
 */

/** The files of `swagger-ui-dist` the page loads (nothing else of the package is served). */
const VIEWER_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

export interface DocsRoutesDeps {
  operations: readonly ApiOperation[];
  /** Where `api-docs/index.html` and `init.js` are (the app's public folder). */
  publicDir: string;
  version: string;
}

/** The document of `operations` (built once). */
export function openApiDocument(operations: readonly ApiOperation[], version = '1'): Record<string, unknown> {
  return buildOpenApiDocument(operations, {
    title: 'Switchboard API',
    version,
    description:
      'The HTTP API of the Switchboard gateway. Authenticate with `Authorization: Bearer <secret>` (a key of `API_KEYS`). Each route needs one scope (`send`, `read`, `knowledge`, `people`, `admin`; `API_KEY_SCOPES`). Errors are `{error, message, details?}` with `error` a stable code. Requests per key are limited to `API_RATE_LIMIT` a minute (429 `rate_limited` with `Retry-After`).',
  });
}

/** The routes (mounted at the app's root, before the API's key check). */
export function docsRouter(deps: DocsRoutesDeps): Router {
  const r = express.Router();
  const doc = JSON.stringify(openApiDocument(deps.operations, deps.version));
  const viewerDir = dirname(require.resolve('swagger-ui-dist/package.json'));
  r.get('/api/v1/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/json').send(doc);
  });
  r.get(['/api/docs', '/api/docs/'], (_req, res) => {
    res.set('Cache-Control', 'no-cache').sendFile(resolve(deps.publicDir, 'api-docs', 'index.html'));
  });
  r.get('/api/docs/init.js', (_req, res) => {
    res.set('Cache-Control', 'no-cache').sendFile(resolve(deps.publicDir, 'api-docs', 'init.js'));
  });
  r.get('/api/docs/assets/:file', (req, res, next) => {
    const file = String(req.params.file);
    if (!VIEWER_FILES.has(file)) return next();
    // `root`: the package lives under `node_modules/.pnpm`, a dot folder `send` would refuse in the full path
    res.set('Cache-Control', 'public, max-age=86400').sendFile(file, { root: viewerDir });
  });
  return r;
}
