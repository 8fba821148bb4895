/**
 * The operations pack (deploy/grafana, deploy/prometheus, the compose `monitoring` profile) against
 * the code: every metric a dashboard panel or an alert rule names is one the processes really
 * register. The names come from live registries — the worker pipeline's (agent, media, fetch,
 * queue depths, ops routes), an ingress registry with every channel's extra metrics, and the admin
 * app's — never from a copied list. Also: every alert has `for:`, a runbook link to a section of
 * docs/operations.md that exists, and the scrape targets are the compose services' ports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { createIngressMetrics, createMetricsRegistry, createOpsApp, silentLogger, type ChannelId } from '@switchboard/core';
import { CHANNEL_MODULES } from '@switchboard/channels';
import { Producers } from '@switchboard/queue';
import { CustomerErasure } from '@switchboard/record';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { createAdminApp } from './app';

jest.setTimeout(60_000);

const ROOT = resolve(__dirname, '../../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Metric names a registry exposes, with the series names of histograms and summaries. */
function exposedNames(registry: Registry): string[] {
  return registry.getMetricsAsArray().flatMap((m) => {
    const { name, type } = m as unknown as { name: string; type: string };
    if (type === 'histogram') return [name, `${name}_bucket`, `${name}_count`, `${name}_sum`];
    if (type === 'summary') return [name, `${name}_count`, `${name}_sum`];
    return [name];
  });
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects (functions, keywords, labels, strings, ranges and Grafana variables left out). */
function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    const word = m[1]!;
    if (m[2] || PROMQL_WORDS.has(word.toLowerCase())) continue; // a function or an aggregation
    if (/^\d/.test(word)) continue;
    names.add(word);
  }
  return [...names];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces → `-`. */
function anchors(markdown: string): Set<string> {
  return new Set(
    markdown
      .split('\n')
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) =>
        l
          .replace(/^#+ /, '')
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, '')
          .replace(/ /g, '-'),
      ),
  );
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

describe('operations pack (Grafana dashboard, Prometheus rules and scrape config, compose profile)', () => {
  let p: Pipeline;
  let producers: Producers;
  const registered = new Set<string>(['up']); // `up` is Prometheus' own, one per scrape target

  beforeAll(async () => {
    p = await startPipeline({ telegram: true, chatwoot: true, roles: ['inbound', 'agent', 'outbound', 'mirror'] });
    const redis = p.deps.redis;
    producers = new Producers(redis, p.prefix);
    // the worker: what buildWorkerDeps and the roles registered, plus its ops app (as main.ts mounts it)
    createOpsApp({ registry: p.deps.registry, checks: { redis: async () => undefined, store: async () => undefined } });
    // an ingress: the common ingress metrics and every channel's own (createIngressApp does the same)
    const ingress = createMetricsRegistry({ service: 'ingress' });
    createIngressMetrics(ingress);
    for (const id of Object.keys(CHANNEL_MODULES) as ChannelId[]) CHANNEL_MODULES[id].inbound.observe?.(ingress);
    createOpsApp({ registry: ingress, checks: {} });
    // the admin app with the erasure procedure
    const admin = createMetricsRegistry({ service: 'admin' });
    createAdminApp({ log: silentLogger(), registry: admin, redis, producers, prefix: p.prefix, auth: undefined, erasure: new CustomerErasure({ redis, prefix: p.prefix, log: silentLogger(), registry: admin }) });
    for (const r of [p.deps.registry, ingress, admin]) for (const n of exposedNames(r)) registered.add(n);
  });

  afterAll(async () => {
    await producers?.close();
    await p?.close();
  });

  it('reads metric names out of PromQL', () => {
    expect(metricNamesOf('histogram_quantile(0.95, sum by (le, channel) (rate(sb_enqueue_seconds_bucket{channel=~"$channel"}[$__rate_interval])))')).toEqual(['sb_enqueue_seconds_bucket']);
    expect(metricNamesOf('sum(rate(a_total{outcome!="ok"}[10m])) / sum(rate(a_total[10m])) > 0.1 and sum(increase(b[5m])) > 10')).toEqual(['a_total', 'b']);
    expect(metricNamesOf('up{job=~"switchboard-.*"} == 0')).toEqual(['up']);
  });

  it('the registries hold the families the pack is about', () => {
    for (const n of ['sb_webhook_deliveries_total', 'sb_signature_failures_total', 'sb_queue_backlog', 'sb_queue_oldest_waiting_seconds', 'sb_turn_seconds_bucket', 'agent_llm_latency_seconds_bucket', 'agent_llm_requests_total', 'agent_llm_tokens_total', 'sb_outbound_sends_total', 'sb_dependency_up', 'record_erasures_total']) {
      expect(registered).toContain(n);
    }
  });

  it('the dashboard is valid Grafana JSON whose every panel queries metrics the code registers', () => {
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/switchboard.json')) as { uid: string; title: string; panels: Panel[]; templating: { list: Array<{ query: { query: string } | string }> } };
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const panels = dashboard.panels.flatMap((x) => [x, ...(x.panels ?? [])]).filter((x) => x.type !== 'row');
    expect(panels.length).toBeGreaterThan(15);
    const ids = dashboard.panels.map((x) => (x as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const datasource = parseYaml(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string; type: string }> };
    const uid = datasource.datasources.find((d) => d.type === 'prometheus')!.uid;
    const unknown: string[] = [];
    for (const panel of panels) {
      expect(panel.datasource?.uid).toBe(uid);
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) {
        const names = metricNamesOf(t.expr ?? '');
        expect(names.length).toBeGreaterThan(0);
        for (const n of names) if (!registered.has(n)) unknown.push(`${panel.title}: ${n}`);
      }
    }
    for (const v of dashboard.templating.list) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      for (const n of metricNamesOf(q.replace(/^label_values\(([^,]+),.*\)$/, '$1'))) if (!registered.has(n)) unknown.push(`variable: ${n}`);
    }
    expect(unknown).toEqual([]);
    // the provider loads the directory compose mounts the dashboards into
    const provider = parseYaml(read('deploy/grafana/provisioning/dashboards/switchboard.yml')) as { providers: Array<{ options: { path: string } }> };
    expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('every alert rule references real metrics, waits with `for:` and links its runbook section', () => {
    const rules = parseYaml(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Array<{ alert: string; expr: string; for?: string; annotations?: Record<string, string> }> }> };
    const all = rules.groups.flatMap((g) => g.rules);
    const docs = anchors(read('docs/operations.md'));
    expect(all.map((r) => r.alert).sort()).toEqual(
      ['SwitchboardLlmErrorRatioHigh', 'SwitchboardOldestJobTooOld', 'SwitchboardProcessDown', 'SwitchboardQueueBacklogHigh', 'SwitchboardRedisUnreachable', 'SwitchboardSendFailureRatioHigh', 'SwitchboardStoreUnreachable', 'SwitchboardWebhookSignatureFailures'].sort(),
    );
    for (const rule of all) {
      expect(rule.for).toMatch(/^\d+[smh]$/);
      for (const n of metricNamesOf(rule.expr)) expect({ alert: rule.alert, metric: n, registered: registered.has(n) }).toEqual({ alert: rule.alert, metric: n, registered: true });
      expect(rule.annotations?.['summary']).toBeTruthy();
      const runbook = rule.annotations?.['runbook_url'] ?? '';
      expect(runbook).toBe(`docs/operations.md#runbook-${rule.alert.toLowerCase()}`);
      expect(docs).toContain(runbook.split('#')[1]);
    }
  });

  it('Prometheus scrapes every process at the port compose gives it; the monitoring profile mounts these files', () => {
    const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, { profiles?: string[]; environment?: Record<string, string>; volumes?: string[]; expose?: string[] }> };
    const prom = parseYaml(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }> }> };
    for (const f of prom.rule_files) expect(existsSync(join(ROOT, 'deploy/prometheus', f))).toBe(true);
    const targets = prom.scrape_configs.flatMap((c) => [...(c.static_configs ?? []).flatMap((s) => s.targets), ...(c.dns_sd_configs ?? []).flatMap((d) => d.names.map((n) => `${n}:${d.port}`))]);
    const apps = Object.entries(compose.services).filter(([, s]) => !s.profiles?.includes('monitoring') && s.environment && 'REDIS_URL' in s.environment);
    expect(apps.length).toBeGreaterThanOrEqual(6);
    for (const [name, s] of apps) {
      const env = s.environment!;
      const port = Object.entries(env).find(([k]) => /_PORT$/.test(k))?.[1] ?? (name.startsWith('worker') ? compose.services['worker']!.environment!['WORKER_METRICS_PORT'] : undefined);
      expect({ name, scraped: targets.includes(`${name}:${port}`) }).toEqual({ name, scraped: true });
    }
    for (const svc of ['prometheus', 'grafana']) expect(compose.services[svc]?.profiles).toEqual(['monitoring']);
    const mounts = [...compose.services['prometheus']!.volumes!, ...compose.services['grafana']!.volumes!].map((v) => v.split(':')[0]!).filter((v) => v.startsWith('./'));
    expect(mounts.sort()).toEqual(['./deploy/grafana/dashboards', './deploy/grafana/provisioning', './deploy/prometheus']);
    for (const m of mounts) expect(existsSync(join(ROOT, m))).toBe(true);
  });
});
