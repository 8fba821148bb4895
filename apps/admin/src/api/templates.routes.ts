import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { DEFAULT_ACCOUNT_ID } from '@switchboard/core';
import { ApiError, parseOr400 } from './api.js';

/**
 * The template route (mounted at `/api/v1` behind the API keys): `GET /templates?account=` → the
 * message templates of a gateway account as last synced from its provider (WhatsApp: the business
 * account's `message_templates`), synced on demand when nothing is cached yet.
 */

/** One account's cached catalogue, as the channel keeps it (templates are passed through as they are typed there). */
export interface TemplateCatalogueView {
  readonly accountId: string;
  readonly wabaId: string;
  readonly syncedAt: string;
  readonly templates: readonly unknown[];
}

/** Where the route reads catalogues (the WhatsApp channel's `TemplateCatalogueService` satisfies it). */
export interface TemplateCatalogues {
  /** The accounts that have a catalogue (a business account id configured). */
  accountIds(): readonly string[];
  /** The cached catalogue, synced now when none is cached; undefined for an account without one. */
  get(accountId: string): Promise<TemplateCatalogueView | undefined>;
}

/** What the template route needs; `templates` undefined = no account has templates configured → 503. */
export interface TemplateRoutesDeps {
  templates: TemplateCatalogues | undefined;
}

export const TemplatesQuery = z.object({ account: z.string().regex(/^[a-z0-9-]{1,40}$/, 'account must match [a-z0-9-]{1,40}').optional() });

/** The `/templates` route. */
export function templatesRouter(deps: TemplateRoutesDeps): Router {
  const router = express.Router();
  router.get('/templates', (req: Request, res: Response, next: NextFunction) => {
    (async () => {
      const q = parseOr400(TemplatesQuery, req.query);
      const accountId = q.account ?? DEFAULT_ACCOUNT_ID;
      const source = deps.templates;
      if (!source || source.accountIds().length === 0) throw new ApiError(503, 'unavailable', 'templates are not configured: set WHATSAPP_WABA_ID (or wabaId of an ACCOUNTS_FILE account)');
      if (!source.accountIds().includes(accountId)) throw new ApiError(404, 'not_found', `account "${accountId}" has no template catalogue; accounts with one: ${source.accountIds().join(', ')}`);
      let catalogue: TemplateCatalogueView | undefined;
      try {
        catalogue = await source.get(accountId);
      } catch (err) {
        throw new ApiError(503, 'unavailable', `the templates could not be synced from the provider: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (!catalogue) throw new ApiError(503, 'unavailable', 'the templates are being synced; try again');
      res.set('Cache-Control', 'no-store').json({ account: catalogue.accountId, wabaId: catalogue.wabaId, syncedAt: catalogue.syncedAt, templates: catalogue.templates });
    })().catch(next);
  });
  return router;
}
