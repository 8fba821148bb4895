/** One jest run for the whole workspace: unit tests (`*.test.ts`) and Redis-backed integration tests (`*.int.test.ts`). */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/scripts'],
  testMatch: ['**/src/**/*.test.ts', '**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.(t|j)s$': swc },
  // ESM-only dependencies of linkedom (HTML for knowledge): Node 20 requires them natively, jest's
  // CommonJS runtime needs them transformed
  transformIgnorePatterns: ['/node_modules/(?!(\\.pnpm/)?(boolbase|css-select|css-what|dom-serializer|domelementtype|domhandler|domutils|entities|html-escaper|htmlparser2|nth-check|uhyphen|cssomnom)[@/])'],
  moduleNameMapper: {
    '^@switchboard/([a-z0-9-]+)/(inbound|outbound|worker)$': '<rootDir>/packages/$1/src/$2.ts',
    // test-only entries of the apps (package.json "exports"): the ingress apps' factories, the worker's in-process pipeline
    '^@switchboard/([a-z0-9-]+-ingress)/app$': '<rootDir>/apps/$1/src/app.ts',
    '^@switchboard/worker/testing$': '<rootDir>/apps/worker/src/testing/harness.ts',
    '^@switchboard/([a-z0-9-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  globalSetup: '<rootDir>/scripts/jest-global-setup.js',
  globalTeardown: '<rootDir>/scripts/jest-global-teardown.js',
  testTimeout: 30000,
  maxWorkers: 2,
};
