import { dirname, resolve } from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import { sendApiError } from './api/api.js';

/** The chart library's browser build (Chart.js UMD), served from node_modules: the console works offline, no CDN. */
const CHART_JS_DIR = dirname(require.resolve('chart.js'));
const CHART_FILES = ['chart.umd.min.js', 'chart.umd.min.js.map'];

/**
 * The analytics console at `/admin/analytics` behind the admin's auth: a static page (script and
 * style as files, CSP 'self'), Chart.js from node_modules, and the analytics route under
 * `/admin/analytics/api` (GET only, so no cross-site write to guard against).
 */
export function analyticsConsole(opts: { guard: RequestHandler; publicDir: string; routes: Router; errors: express.ErrorRequestHandler }): Router {
  const r = express.Router();
  r.get('/admin/analytics', opts.guard, (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile(resolve(opts.publicDir, 'analytics', 'index.html'));
  });
  r.use('/admin/analytics/assets', opts.guard, express.static(resolve(opts.publicDir, 'analytics'), { index: false, maxAge: 0 }));
  for (const file of CHART_FILES) {
    r.get(`/admin/analytics/vendor/${file}`, opts.guard, (_req, res) => {
      res.set('Cache-Control', 'public, max-age=86400').sendFile(file, { root: CHART_JS_DIR });
    });
  }
  r.use('/admin/analytics/api', opts.guard, opts.routes, (req: express.Request, res: express.Response) => sendApiError(res, 404, 'not_found', `no route ${req.method} ${req.baseUrl}${req.path}`), opts.errors);
  return r;
}
