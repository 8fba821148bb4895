import type { z } from 'zod';
import {
  accountFileProblems,
  accountsOfChannel,
  baseEnv,
  closeServer,
  createLogger,
  createMetricsRegistry,
  listen,
  loadConfig,
  onShutdown,
  readAccountsFile,
  readDotenvFile,
  tlsFiles,
  type AccountEntry,
  type ChannelAccount,
  type ChannelInbound,
  type Logger,
} from '@switchboard/core';
import { acceptEnv, backlogEnv, createRedis, DeliveryLedger, exportQueueDepths, Mailbox, Producers, waitReady } from '@switchboard/queue';
import { createIngressApp, type IngressRuntime } from './app.js';

type CommonEnv = typeof baseEnv & typeof acceptEnv & typeof backlogEnv;

/** The configuration an ingress process reads: the common fragments plus its channel's. */
export type IngressConfig<E extends z.ZodRawShape> = z.infer<z.ZodObject<CommonEnv & E>>;

/** What one ingress process is: its name, its channel's inbound half and how the environment becomes accounts. */
export interface IngressProcess<E extends z.ZodRawShape, S> {
  /** Process name in logs and metrics (`whatsapp-ingress`). */
  readonly service: string;
  readonly inbound: ChannelInbound<S, IngressRuntime>;
  /** The channel's environment fragment. */
  readonly env: E;
  port(cfg: IngressConfig<E>): number;
  /**
   * The account `default` from the channel's variables (a disabled one is logged here and answers
   * 503); `ACCOUNTS_FILE` adds the others. May throw `ConfigError`.
   */
  accounts(cfg: IngressConfig<E>, log: Logger): Promise<Array<ChannelAccount<S>>> | Array<ChannelAccount<S>>;
  /**
   * An optional start-up step for each `ACCOUNTS_FILE` account whose settings need the provider
   * (Telegram asks `getMe` for a bot's @username). Runs once per account before listening; it should
   * warn and return the account as it is when the provider cannot be asked, so one account's outage
   * does not stop the others.
   */
  completeFileAccount?(account: FileAccount<S>, cfg: IngressConfig<E>, log: Logger): Promise<ChannelAccount<S>>;
}

/** An account read from `ACCOUNTS_FILE`, with the entry it came from. */
export type FileAccount<S> = ChannelAccount<S> & { readonly entry: AccountEntry };

/** The accounts `ACCOUNTS_FILE` adds to this process's channel (every entry's common keys are checked too). */
async function fileAccounts<E extends z.ZodRawShape, S>(p: IngressProcess<E, S>, cfg: IngressConfig<E>, log: Logger, path: string | undefined): Promise<Array<ChannelAccount<S>>> {
  if (!path) return [];
  const file = readAccountsFile(path, undefined, (f) => accountFileProblems(f, p.inbound.channel, p.inbound.accountFile.schema));
  const accounts = accountsOfChannel(file, p.inbound.channel, p.inbound.accountFile, cfg as Readonly<Record<string, unknown>>);
  const complete = p.completeFileAccount?.bind(p);
  return complete ? Promise.all(accounts.map((a) => complete(a, cfg, log))) : accounts;
}

/**
 * Every account an ingress process serves: the `default` one from the channel's variables, then
 * those of `ACCOUNTS_FILE` (completed by {@link IngressProcess.completeFileAccount}). Throws
 * `ConfigError` naming every problem. Exported for in-process tests of a channel's composition.
 */
export async function ingressAccounts<E extends z.ZodRawShape, S>(p: IngressProcess<E, S>, cfg: IngressConfig<E>, log: Logger): Promise<Array<ChannelAccount<S>>> {
  const common = cfg as unknown as z.infer<z.ZodObject<CommonEnv>>;
  return [...(await p.accounts(cfg, log)), ...(await fileAccounts(p, cfg, log, common.ACCOUNTS_FILE))];
}

async function start<E extends z.ZodRawShape, S>(p: IngressProcess<E, S>): Promise<void> {
  readDotenvFile();
  const cfg = loadConfig({ ...baseEnv, ...acceptEnv, ...backlogEnv, ...p.env }) as IngressConfig<E>;
  const common = cfg as unknown as z.infer<z.ZodObject<CommonEnv>>;
  const log = createLogger({ service: p.service, level: common.LOG_LEVEL, showText: common.LOG_SHOW_TEXT });
  const accounts = await ingressAccounts(p, cfg, log);
  const redis = createRedis(common.REDIS_URL, 'producer');
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  // the gateway's own commands (mailbox accept, acknowledgements, counters) of concurrent requests
  // share socket writes; BullMQ keeps the plain connection
  const gatewayRedis = createRedis(common.REDIS_URL, 'producer', { autoPipelining: true });
  gatewayRedis.on('error', () => undefined);
  // a fail-fast connection refuses commands until connected: wait briefly (for both at once) so the
  // first webhook is not a 503
  await Promise.all([waitReady(redis, 5000), waitReady(gatewayRedis, 5000)]).catch(() => log.warn('redis not reachable yet; webhooks answer 503 until it is'));
  const prefix = common.QUEUE_PREFIX;
  const producers = new Producers(redis, prefix);
  const registry = createMetricsRegistry({ service: p.service });
  // the backlog is visible where the load arrives: ingress keeps accepting (durably) however deep it is
  const depths = exportQueueDepths(registry, producers, { alertThreshold: common.BACKLOG_ALERT_THRESHOLD, log });
  const accept = { mailbox: new Mailbox(gatewayRedis, prefix), producers, redis: gatewayRedis, prefix, debounceMs: common.TURN_DEBOUNCE_MS, maxMessageAgeSec: common.INBOUND_MAX_AGE_SEC };
  const app = createIngressApp(p.inbound, accounts, { log, registry, producers, redis, prefix, accept, ledger: new DeliveryLedger(gatewayRedis, prefix) });
  const port = p.port(cfg);
  const server = await listen(app, port, { log, tls: tlsFiles(common) });
  // the validation report of a good start: ids and the channel only (never a setting)
  log.info(`${p.service} listening`, { port, channel: p.inbound.channel, accounts: accounts.map((a) => a.id), accountsFile: common.ACCOUNTS_FILE ?? null });
  onShutdown(log, async () => {
    depths.stop();
    await closeServer(server);
    await producers.close();
    redis.disconnect();
    gatewayRedis.disconnect();
  });
}

/**
 * Runs one ingress process (the whole composition root): configuration, logger, Redis, accounts,
 * {@link createIngressApp}, listen (HTTP or TLS), graceful stop. An invalid configuration stops the
 * process with one line naming every problem.
 */
export function runIngress<E extends z.ZodRawShape, S>(p: IngressProcess<E, S>): void {
  start(p).catch((err: unknown) => {
    // the logger may not exist yet (invalid configuration): one clear line naming every problem
    process.stderr.write(`${p.service}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
