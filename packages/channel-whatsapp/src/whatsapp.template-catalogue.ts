import type { Logger } from '@switchboard/core';
import { acquireLock, type RedisClient, type TemplateKeys } from '@switchboard/queue';
import { parseTemplate, type TemplateCatalogue, type WhatsAppTemplate } from './whatsapp.templates.js';

/** What a sync needs from the Graph client (see `GraphClient.listTemplates`). */
export interface TemplateLister {
  listTemplates(wabaId: string): Promise<unknown[]>;
}

/** One account whose templates are kept: its WABA id and a client holding its token. */
export interface TemplateAccount {
  readonly wabaId: string;
  readonly client: TemplateLister;
}

/** Options of {@link TemplateCatalogueService}. */
export interface TemplateCatalogueOptions {
  readonly redis: RedisClient;
  /** `gatewayKeys(prefix).templates`. */
  readonly keys: TemplateKeys;
  /** Account id → its WABA and client; accounts without a WABA id are left out by the caller. */
  readonly accounts: ReadonlyMap<string, TemplateAccount>;
  /** How long one sync may hold the account's lock (ms, default 60 000). */
  readonly lockMs?: number;
  /** How long a waiting reader polls for another worker's sync to finish (ms, default 15 000). */
  readonly waitMs?: number;
  readonly log?: Logger;
  readonly now?: () => Date;
}

/** Syncs every template of a WABA once (no cache, no lock): entries Meta sends malformed are skipped. */
export async function fetchCatalogue(accountId: string, account: TemplateAccount, now = new Date()): Promise<TemplateCatalogue> {
  const raw = await account.client.listTemplates(account.wabaId);
  const templates = raw.map(parseTemplate).filter((t): t is WhatsAppTemplate => t !== undefined);
  templates.sort((a, b) => a.name.localeCompare(b.name) || a.language.localeCompare(b.language));
  return { accountId, wabaId: account.wabaId, syncedAt: now.toISOString(), templates };
}

/** The result of {@link TemplateCatalogueService.refresh}. */
export type RefreshResult = { readonly refreshed: true; readonly catalogue: TemplateCatalogue } | { readonly refreshed: false; readonly reason: 'locked' | 'unknown_account' };

/**
 * The template catalogues of the gateway's WhatsApp accounts, cached in Redis (one JSON value per
 * account, no TTL: a stale catalogue is better than none when Meta is unreachable). A sync holds a
 * per-account Redis lock so that of many workers only one calls Meta at a time; the schedule is
 * claimed per period so one worker runs it.
 */
export class TemplateCatalogueService {
  private readonly lockMs: number;
  private readonly waitMs: number;
  private readonly now: () => Date;

  constructor(private readonly opts: TemplateCatalogueOptions) {
    this.lockMs = opts.lockMs ?? 60_000;
    this.waitMs = opts.waitMs ?? 15_000;
    this.now = opts.now ?? (() => new Date());
  }

  /** The accounts with a WABA id. */
  accountIds(): string[] {
    return [...this.opts.accounts.keys()];
  }

  /** The cached catalogue of an account; undefined before its first sync. */
  async cached(accountId: string): Promise<TemplateCatalogue | undefined> {
    const raw = await this.opts.redis.get(this.opts.keys.catalogue(accountId));
    return raw ? (JSON.parse(raw) as TemplateCatalogue) : undefined;
  }

  /**
   * Syncs an account's catalogue from Meta and caches it. When another worker holds the lock it
   * returns `locked` (that worker's result lands in the cache). A Graph failure is thrown, the cache
   * left as it was.
   */
  async refresh(accountId: string): Promise<RefreshResult> {
    const account = this.opts.accounts.get(accountId);
    if (!account) return { refreshed: false, reason: 'unknown_account' };
    const lock = await acquireLock(this.opts.redis, this.opts.keys.syncLock(accountId), this.lockMs);
    if (!lock) return { refreshed: false, reason: 'locked' };
    const stop = lock.keepAlive();
    try {
      const catalogue = await fetchCatalogue(accountId, account, this.now());
      await this.opts.redis.set(this.opts.keys.catalogue(accountId), JSON.stringify(catalogue));
      this.opts.log?.info('whatsapp templates synced', { account: accountId, templates: catalogue.templates.length });
      return { refreshed: true, catalogue };
    } finally {
      stop();
      await lock.release().catch(() => undefined);
    }
  }

  /**
   * A refresh that must see a change Meta just announced: when another worker's sync is running
   * (it may have read the list before the change), waits for it to end and syncs again.
   */
  async refreshAfterChange(accountId: string): Promise<RefreshResult> {
    const deadline = Date.now() + this.lockMs;
    for (;;) {
      const r = await this.refresh(accountId);
      if (r.refreshed || r.reason !== 'locked' || Date.now() >= deadline) return r;
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  /**
   * The catalogue for a reader (API, validation): the cached one, or, when none is cached yet, a
   * sync now (waiting for another worker's sync if one is running). Undefined for an account
   * without a WABA id.
   */
  async get(accountId: string): Promise<TemplateCatalogue | undefined> {
    const cached = await this.cached(accountId);
    if (cached || !this.opts.accounts.has(accountId)) return cached;
    const r = await this.refresh(accountId);
    if (r.refreshed) return r.catalogue;
    const deadline = Date.now() + this.waitMs;
    while (Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
      const c = await this.cached(accountId);
      if (c) return c;
      if (!(await this.opts.redis.exists(this.opts.keys.syncLock(accountId)))) return this.cached(accountId);
    }
    return undefined;
  }

  /**
   * One scheduled round: for each account, the worker that claims this period (SET NX PX
   * `periodMs`) syncs it; the others skip. Failures are logged, never thrown.
   */
  async scheduledRound(periodMs: number): Promise<string[]> {
    const synced: string[] = [];
    for (const accountId of this.accountIds()) {
      const claimed = await this.opts.redis.set(this.opts.keys.scheduleClaim(accountId), String(process.pid), 'PX', Math.max(1000, periodMs - 1000), 'NX');
      if (claimed !== 'OK') continue;
      try {
        const r = await this.refresh(accountId);
        if (r.refreshed) synced.push(accountId);
      } catch (err) {
        this.opts.log?.warn('whatsapp templates sync failed', { account: accountId, err: err instanceof Error ? err.message : String(err) });
      }
    }
    return synced;
  }

  /** Runs {@link scheduledRound} now and every `periodMs`; returns the function that stops it. */
  startSchedule(periodMs: number): () => void {
    const run = () => void this.scheduledRound(periodMs).catch((err: unknown) => this.opts.log?.warn('whatsapp templates schedule failed', { err: err instanceof Error ? err.message : String(err) }));
    run();
    const timer = setInterval(run, periodMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
