// ESLint for the whole workspace (flat config). Each package's `lint` script runs `eslint .` from
// its own folder; ESLint finds this file by walking up. Typed rules use each package's tsconfig.json.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * The inbound half of every channel: the files reachable, through relative imports, from
 * `packages/channel-*\/src/inbound.ts` (what an ingress app loads). Computed here so that a file
 * joining the inbound half by a new import gets the inbound rules at once.
 */
function inboundHalf() {
  const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const target = join(dirname(file), spec.replace(/\.js$/, '.ts'));
      visit(existsSync(target) ? target : join(target.replace(/\.ts$/, ''), 'index.ts'));
    }
  };
  for (const dir of readdirSync(join(root, 'packages'))) {
    if (dir.startsWith('channel-')) visit(join(root, 'packages', dir, 'src', 'inbound.ts'));
  }
  return [...seen].map((f) => relative(root, f).split('\\').join('/'));
}

/** What the inbound half (and the ingress apps) must not load: provider API clients, the agent, workers. */
const workerSide = {
  paths: [
    { name: 'axios', message: 'HTTP clients belong to the outbound half (worker side), not to the inbound half.' },
    { name: 'openai', message: 'The LLM is worker-side.' },
    { name: 'bullmq', message: 'Enqueue through @switchboard/queue; BullMQ workers are worker-side.' },
    { name: 'markdown-it', message: 'Rendering replies is outbound (worker side).' },
    { name: '@switchboard/agent', message: 'The agent is worker-side.' },
    { name: '@switchboard/media', message: 'The media pipeline is worker-side.' },
    { name: '@switchboard/fetch', message: 'Fetching outside URLs is worker-side.' },
    { name: '@switchboard/testkit', message: 'Fakes belong to tests.' },
  ],
  patterns: [
    { regex: '^@switchboard/channel-[a-z0-9-]+(/outbound|/worker)?$', message: 'Import a channel through its ./inbound subpath here (the root and ./outbound load the worker side).' },
    { regex: '(^|/)outbound(\\.js)?$', message: 'The outbound half is worker-side.' },
    { regex: '\\.(client|outbound|outbound-adapter|send|sync|token|format|media|mirror)(\\.js)?$', message: 'Worker-side module: keep it out of the inbound half.' },
  ],
};

/** Modules that may read `process.env`: configuration loaders (everything else gets typed settings). */
const envReaders = [
  '**/config.ts',
  '**/env.ts',
  '**/*.env.ts',
  'packages/testkit/**',
  'apps/*/src/testing/**',
  'scripts/**',
  '**/*.test.ts',
  '**/bench/**',
];

const tsFiles = ['**/*.ts', '**/*.mts', '**/*.cts'];
const jsFiles = ['**/*.js', '**/*.mjs', '**/*.cjs'];

export default defineConfig(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'reports/**', 'coverage/**', '.data/**', '**/*.d.ts', '**/*.d.cts'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },

  // every file
  {
    files: [...tsFiles, ...jsFiles],
    extends: [js.configs.recommended],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: join(root, 'tsconfig.base.json') })],
    },
    rules: {
      'import-x/no-self-import': 'error',
      // a package reaches another only through its name (no `../apps/x/...`, no `../../packages/y/src/...`)
      'import-x/no-relative-packages': 'error',
      'import-x/no-duplicates': 'error',
      // relaxed: control characters in regular expressions are deliberate (sentinels, ANSI, binary sniffing)
      'no-control-regex': 'off',
      // an empty `catch {}` is how a best-effort step says "ignore"
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read the environment in a config module (config.ts / env.ts / *.env.ts) and pass typed settings down.' }],
    },
  },

  // TypeScript: typed rules
  {
    files: tsFiles,
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      // `typeof import('x')` annotations stay allowed (jest.requireActual<typeof import('node:crypto')>)
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // tsc --noUnusedLocals --noUnusedParameters (the other half of `lint`) reports these
      '@typescript-eslint/no-unused-vars': 'off',
      // relaxed: an `async` function without `await` implements a Promise-returning contract; making
      // it non-async would turn its synchronous throws into throws instead of rejections
      '@typescript-eslint/require-await': 'off',
    },
  },

  // tests, test harnesses and fake providers: response bodies are `any`, jest spies are unbound
  // methods, fake query strings are stringified as they come
  {
    files: ['**/*.test.ts', '**/testing/**', 'packages/testkit/**', 'apps/admin/src/sandbox/fake-*.ts', 'scripts/test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  // product code never loads a fake: testkit is a devDependency, for tests and test-only testing/ folders
  {
    files: ['apps/*/src/**/*.ts', 'packages/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/testing/**', 'packages/testkit/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [workerSide.paths.find((p) => p.name === '@switchboard/testkit')] }],
      'no-restricted-syntax': ['error', { selector: "ImportExpression[source.value='@switchboard/testkit']", message: 'Fakes belong to tests.' }],
    },
  },

  // the sandbox page runs in the browser
  {
    files: ['apps/admin/public/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly', localStorage: 'readonly', FileReader: 'readonly', fetch: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', EventSource: 'readonly', location: 'readonly', navigator: 'readonly', Blob: 'readonly', FormData: 'readonly' } },
  },

  // plain JavaScript (scripts, jest setup, benches): node globals, no type information
  {
    files: jsFiles,
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly',
        performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly',
      },
    },
  },
  {
    files: ['**/*.cjs', 'scripts/jest-global-*.js', 'jest.config.js', 'packages/media/reader/**'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' } },
  },

  // no process.env outside configuration modules
  { files: envReaders, rules: { 'no-restricted-properties': 'off' } },

  // the inbound half of each channel, and the ingress apps that load it, stay free of worker-side code
  {
    files: inboundHalf(),
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workerSide] },
  },
  {
    files: ['apps/*-ingress/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: workerSide.paths, patterns: [workerSide.patterns[0]] }],
    },
  },
  // the `pnpm telegram:webhook` command (webhook.ts, set-webhook.ts) is a client of the Bot API, not
  // the ingress server (which asks getMe through the inbound half's plain fetch)
  {
    files: ['apps/telegram-ingress/src/webhook.ts', 'apps/telegram-ingress/src/set-webhook.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: workerSide.paths.filter((p) => p.name !== 'axios') }] },
  },
);
