import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import express, { type Express } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './logger.js';
import { readTlsCredentials, watchTlsFiles, type TlsFiles } from './tls.js';

/** A readiness probe: resolves when the dependency is usable, rejects (or returns a reason) otherwise. */
export type ReadinessCheck = () => Promise<string | undefined>;

/** Creates the per-process Prometheus registry with Node's default metrics. */
export function createMetricsRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** A readiness check's answer within `timeoutMs`: undefined = ok, else the problem. */
async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([check().catch((err: unknown) => (err instanceof Error ? err.message : String(err))), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `sb_dependency_up{dependency}`: 1 while a dependency the process needs (Redis, the store)
 * answers its readiness check, 0 while it does not; run on every scrape (at most 2 s each).
 */
export function exportDependencyHealth(registry: Registry, checks: Record<string, ReadinessCheck>): void {
  if (registry.getSingleMetric('sb_dependency_up')) return;
  new Gauge({
    name: 'sb_dependency_up',
    help: 'Whether a dependency of the process answers its readiness check (1) or not (0), checked at scrape time',
    labelNames: ['dependency'],
    registers: [registry],
    async collect() {
      const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check, 2000)] as const));
      for (const [dependency, problem] of results) this.set({ dependency }, problem === undefined ? 1 : 0);
    },
  });
}

/** Mounts `GET /healthz`, `GET /readyz` and `GET /metrics` on an app; `/metrics` includes {@link exportDependencyHealth}. */
export function mountOpsRoutes(app: Express, opts: { registry: Registry; checks: Record<string, ReadinessCheck> }): void {
  exportDependencyHealth(opts.registry, opts.checks);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(opts.checks).map(async ([name, check]) => {
        try {
          const problem = await check();
          results[name] = problem ?? 'ok';
          if (problem) ready = false;
        } catch (err) {
          results[name] = err instanceof Error ? err.message : String(err);
          ready = false;
        }
      }),
    );
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: results });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', opts.registry.contentType);
    res.send(await opts.registry.metrics());
  });
}

/** A small express app with only the ops routes (used by workers). */
export function createOpsApp(opts: { registry: Registry; checks: Record<string, ReadinessCheck> }): Express {
  const app = express();
  app.disable('x-powered-by');
  mountOpsRoutes(app, opts);
  return app;
}

/** Options of {@link listen}. */
export interface ListenOptions {
  readonly log: Logger;
  /** Serve HTTPS with these files (see `tlsFiles`); undefined = plain HTTP. */
  readonly tls?: TlsFiles | undefined;
  /** Reload the certificate when its files change (default true); SIGHUP reloads either way. */
  readonly watchTls?: boolean;
  readonly host?: string;
}

/**
 * Starts listening (HTTP, or HTTPS when `tls` is set) and resolves with the server once bound.
 * With TLS the certificate is re-read on file changes and SIGHUP without dropping connections in
 * flight (see `watchTlsFiles`); a certificate that cannot be read at start stops the start.
 */
export function listen(app: Express, port: number, opts?: ListenOptions): Promise<Server> {
  return new Promise((resolveListen, reject) => {
    let server: Server;
    if (opts?.tls) {
      const files = opts.tls;
      const creds = readTlsCredentials(files);
      const https = createHttpsServer({ cert: creds.cert, key: creds.key }, app);
      const reloader = watchTlsFiles(https, files, creds, { log: opts.log, watch: opts.watchTls ?? true });
      https.on('close', () => reloader.close());
      server = https;
    } else {
      server = createHttpServer(app);
    }
    server.keepAliveTimeout = 65_000;
    server.once('error', reject);
    server.listen(port, opts?.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolveListen(server);
    });
  });
}

/** Stops accepting connections and waits (bounded) for in-flight requests. */
export function closeServer(server: Server, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolveClose) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolveClose();
    }, timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolveClose();
    });
    server.closeIdleConnections();
  });
}

/**
 * Runs `stop` once on SIGTERM/SIGINT, then exits 0 (or 1 if stopping failed or took longer than `deadlineMs`).
 */
export function onShutdown(log: Logger, stop: () => Promise<void>, deadlineMs = 25_000): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const timer = setTimeout(() => {
      log.error('shutdown deadline exceeded', { deadlineMs });
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    stop()
      .then(() => {
        log.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}

/**
 * The metrics every ingress exposes, with one set of names across channels:
 * deliveries by channel and result, normalized events by kind and type, signature failures,
 * and the time to make a delivery durable.
 */
export function createIngressMetrics(registry: Registry) {
  const registers = [registry];
  return {
    deliveries: new Counter({ name: 'sb_webhook_deliveries_total', help: 'Webhook deliveries by result', labelNames: ['channel', 'result', 'account'], registers }),
    events: new Counter({ name: 'sb_inbound_events_total', help: 'Normalized inbound events by kind and type', labelNames: ['channel', 'kind', 'type', 'account'], registers }),
    signatureFailures: new Counter({ name: 'sb_signature_failures_total', help: 'Webhooks refused for a bad or missing signature, key or receive id', labelNames: ['channel', 'reason', 'account'], registers }),
    enqueueSeconds: new Histogram({
      name: 'sb_enqueue_seconds',
      help: 'Time to make a delivery durable in Redis',
      labelNames: ['channel'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
  };
}
export type IngressMetrics = ReturnType<typeof createIngressMetrics>;
