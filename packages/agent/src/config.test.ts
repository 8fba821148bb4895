import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentEnv } from './env.js';
import { loadAgentConfig, parseAgentConfig } from './config.js';
import { AgentConfigError } from './errors.js';
import { loadConfig } from '@switchboard/core';

const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
function file(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AgentConfigError);
    return (err as AgentConfigError).problems;
  }
  throw new Error('expected an AgentConfigError');
}

describe('agentEnv', () => {
  it('has the documented defaults and no default key', () => {
    const env = loadConfig(agentEnv, {});
    expect(env).toMatchObject({ LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 60000 });
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.OPENAI_BASE_URL).toBeUndefined();
  });
  it('strips a trailing slash from the base URL and rejects a bad timeout', () => {
    expect(loadConfig(agentEnv, { OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/' }).OPENAI_BASE_URL).toBe('http://127.0.0.1:11434/v1');
    expect(() => loadConfig(agentEnv, { LLM_TIMEOUT_MS: 'soon' })).toThrow(/LLM_TIMEOUT_MS/);
  });
});

describe('loadAgentConfig', () => {
  it('returns the built-in configuration when no path is set', () => {
    const c = loadAgentConfig(undefined, {});
    expect(c.prompt.system).toMatch(/customer-support assistant/);
    expect(c.faq.length).toBeGreaterThanOrEqual(3);
    expect(c.messages.offline).toBeDefined();
    expect(c.smallTalk.greetings.keywords.en).toContain('hello');
    expect(c.memory).toEqual({ maxTurns: 20, ttlSeconds: 604800, maxHistoryChars: 12000, summarize: true, summaryMaxChars: 1500 });
  });

  it('reads YAML and JSON and fills defaults', () => {
    const y = loadAgentConfig(
      file(
        'a.yaml',
        `businessName: Acme
prompt:
  system: You are Acme's helper.
faq:
  - id: hours
    match: { en: { keywords: [opening hours] } }
    answer: We open 9-18.
memory: { maxTurns: 5 }
`,
      ),
      {},
    );
    expect(y.businessName).toBe('Acme');
    expect(y.faq[0]?.match.en?.patterns).toEqual([]);
    expect(y.memory.maxTurns).toBe(5);
    expect(y.memory.ttlSeconds).toBe(604800);
    const j = loadAgentConfig(file('a.json', JSON.stringify({ prompt: { system: 'JSON prompt' } })), {});
    expect(j.prompt.system).toBe('JSON prompt');
    expect(loadAgentConfig(file('empty.yaml', ''), {}).faq).toEqual([]);
  });

  it('names every problem at once: unknown keys, wrong types, bad regex, bad zone, duplicate ids', () => {
    const problems = problemsOf(() =>
      parseAgentConfig(
        {
          sytemPrompt: 'typo',
          timezone: 'Mars/Olympus',
          memory: { maxTurns: -1 },
          faq: [
            { id: 'a', match: { en: { patterns: ['(unclosed'] } }, answer: 'x' },
            { id: 'b', match: {}, answer: 'y' },
          ],
        },
        'bad.yaml',
        {},
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/sytemPrompt/),
        expect.stringMatching(/^timezone: .*IANA/),
        expect.stringMatching(/^memory\.maxTurns: /),
        expect.stringMatching(/^faq\.0\.match\.en\.patterns\.0: invalid regular expression/),
        expect.stringMatching(/^faq\.1\.match: needs at least one language/),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(5);
    expect(problemsOf(() => parseAgentConfig({ faq: [{ id: 'a', match: { en: {} }, answer: 'x' }, { id: 'a', match: { en: {} }, answer: 'y' }] }, 't', {}))).toEqual([
      'faq.1.id: duplicate FAQ id "a"',
    ]);
  });

  it('checks HTTP tools: names, URL placeholders and ${ENV} header references', () => {
    const problems = problemsOf(() =>
      parseAgentConfig(
        {
          tools: {
            http: [
              { name: 'handoff_to_human', description: 'clash', url: 'https://x.example/a' },
              {
                name: 'order_status',
                description: 'Look up an order',
                url: 'https://orders.example/api/{orderId}/{missing}',
                headers: { Authorization: 'Bearer ${ORDERS_TOKEN}' },
                parameters: { type: 'object', properties: { orderId: { type: 'string' } } },
              },
              { name: 'bad name!', description: 'x', url: 'ftp://x' },
            ],
          },
        },
        'tools.yaml',
        {},
      ),
    );
    // schema problems and cross-checks are reported together
    expect(problems).toEqual([
      'tools.http.2.name: must be 1-64 letters, digits, _ or -',
      'tools.http.0.name: "handoff_to_human" is already used (built-in or duplicate)',
      'tools.http.1.url: placeholder {missing} is not a property of parameters',
      'tools.http.1.headers.Authorization: environment variable ORDERS_TOKEN is not set',
      'tools.http.2.url: must be http(s)',
    ]);
    const ok = parseAgentConfig(
      {
        tools: {
          http: [
            {
              name: 'order_status',
              description: 'Look up an order',
              url: 'https://orders.example/api/{orderId}',
              headers: { Authorization: 'Bearer ${ORDERS_TOKEN}' },
              parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
            },
          ],
        },
      },
      'tools.yaml',
      { ORDERS_TOKEN: 's3cret' },
    );
    expect(ok.tools.http[0]).toMatchObject({ method: 'GET', headers: { Authorization: 'Bearer s3cret' }, maxResponseChars: 4000 });
  });

  it('reports unreadable files and YAML syntax errors with the file name', () => {
    expect(() => loadAgentConfig(join(dir, 'nope.yaml'), {})).toThrow(/nope\.yaml[\s\S]*cannot read the file/);
    expect(problemsOf(() => loadAgentConfig(file('broken.yaml', 'faq: [\n  - id: a\n    answer: "x\n'), {}))[0]).toMatch(/^invalid YAML/);
    expect(problemsOf(() => loadAgentConfig(file('broken.json', '{"faq": '), {}))[0]).toMatch(/^invalid JSON/);
  });
});

describe('config/agent.example.yaml', () => {
  const example = join(__dirname, '../../../config/agent.example.yaml');
  it('is a valid configuration as shipped', () => {
    const c = loadAgentConfig(example, {});
    expect(c.businessName).toBe('Acme Shoes');
    expect(c.faq.map((f) => f.id)).toEqual(['shipping-times', 'returns']);
    expect(c.tools.http).toEqual([]);
  });
  it('is valid with its commented HTTP tool enabled', () => {
    const text = readFileSync(example, 'utf8').replace(/^#>/gm, '');
    const c = loadAgentConfig(file('example-with-tool.yaml', text), { ORDERS_API_TOKEN: 'tok' });
    expect(c.tools.http[0]).toMatchObject({ name: 'order_status', headers: { Authorization: 'Bearer tok' }, timeoutMs: 5000 });
    expect(() => loadAgentConfig(file('example-with-tool2.yaml', text), {})).toThrow(/ORDERS_API_TOKEN is not set/);
  });
});
