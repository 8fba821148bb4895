import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ChannelId } from '@switchboard/core';
import type { CustomerErasure } from '@switchboard/record';
import { ApiError, parseOr400 as parse } from './api.js';

/**
 * The customer routes (mounted at `/api/v1/customers` behind the API keys):
 * `DELETE /:channel/:customerId?account=` erases everything of that customer (the record's
 * transcripts, the agent's memory, summary and profile, mirror mappings, cached media, pending
 * mailbox state) → 204. Erasing an unknown or already erased customer is also 204.
 */

/** What the customer routes need; `erasure` undefined = no store (`DATABASE_URL` unset) → 503. */
export interface CustomerRoutesDeps {
  erasure: CustomerErasure | undefined;
}

export const CustomerParams = z.object({
  channel: ChannelId,
  customerId: z.string().trim().min(1).max(256),
});
export const CustomerQuery = z.object({ account: z.string().regex(/^[a-z0-9-]{1,40}$/, 'account must match [a-z0-9-]{1,40}').optional() });


export function customersRouter(deps: CustomerRoutesDeps): Router {
  const router = express.Router();
  router.delete('/:channel/:customerId', (req: Request, res: Response, next: NextFunction) => {
    (async () => {
      const { channel, customerId } = parse(CustomerParams, req.params);
      const { account } = parse(CustomerQuery, req.query);
      // the record is where the customer's conversations are listed: without it nothing can be found to erase
      if (!deps.erasure) throw new ApiError(503, 'store_unavailable', 'erasure needs the store: DATABASE_URL is not set');
      await deps.erasure.erase({ channel, customerId, ...(account ? { accountId: account } : {}) });
      res.status(204).set('Cache-Control', 'no-store').end();
    })().catch(next);
  });
  return router;
}
